package lakebase

import (
	"fmt"
	"math"
	"time"
)

// This file holds how dates and times are counted in batches (from
// PostgreSQL's epoch, with its infinity sentinels) and written as
// PostgreSQL's text.

// PostgreSQL's epoch, 2000-01-01 00:00:00 UTC, from which dates and
// timestamps are counted in a batch, exactly as in PostgreSQL's binary
// protocol.
const pgEpochUnix = 946684800

// Infinity sentinels of PostgreSQL's binary protocol, used in batches.
const (
	dateInfinity         = math.MaxInt32
	dateNegInfinity      = math.MinInt32
	timestampInfinity    = math.MaxInt64
	timestampNegInfinity = math.MinInt64
)

// wallSeconds returns t's wall clock as seconds since the Unix epoch, as
// if its location were UTC.
func wallSeconds(t time.Time) int64 {
	_, off := t.Zone()
	return t.Unix() + int64(off)
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civil splits seconds since 2000-01-01 into a UTC date and time.
func civil(secs int64) time.Time { return time.Unix(secs+pgEpochUnix, 0).UTC() }

// appendYMD appends t's date as PostgreSQL writes it: year (four digits
// at least), month, day, and " BC" apart for years before 1 (added by the
// caller, after the time).
func appendYMD(buf []byte, t time.Time) []byte {
	y := t.Year()
	if y <= 0 {
		y = 1 - y // year 0 is 1 BC
	}
	return fmt.Appendf(buf, "%04d-%02d-%02d", y, int(t.Month()), t.Day())
}

// appendDateText appends a date given as days since 2000-01-01.
func appendDateText(buf []byte, d int32) []byte {
	switch d {
	case dateInfinity:
		return append(buf, "infinity"...)
	case dateNegInfinity:
		return append(buf, "-infinity"...)
	}
	t := civil(int64(d) * 86400)
	buf = appendYMD(buf, t)
	if t.Year() <= 0 {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendClock appends a time of day, given in microseconds, as
// HH:MM:SS.ffffff.
func appendClock(buf []byte, us int64) []byte {
	s := us / 1000000
	return fmt.Appendf(buf, "%02d:%02d:%02d.%06d", s/3600, s/60%60, s%60, us%1000000)
}

// appendTimestampText appends a timestamp given in microseconds since
// 2000-01-01 00:00:00, with "+00" for a timestamptz (the microseconds
// are then UTC).
func appendTimestampText(buf []byte, us int64, tz bool) []byte {
	switch us {
	case timestampInfinity:
		return append(buf, "infinity"...)
	case timestampNegInfinity:
		return append(buf, "-infinity"...)
	}
	secs := floorDiv(us, 1000000)
	t := civil(secs)
	buf = appendYMD(buf, t)
	buf = append(buf, ' ')
	buf = appendClock(buf, int64(t.Hour()*3600+t.Minute()*60+t.Second())*1000000+us-secs*1000000)
	if tz {
		buf = append(buf, "+00"...)
	}
	if t.Year() <= 0 {
		buf = append(buf, " BC"...)
	}
	return buf
}
