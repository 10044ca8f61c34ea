package lakebase

import "time"

// This file holds helpers for dates and times as the formats count them.

func days(y int, m time.Month, d int) int32 {
	return int32(floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()-pgEpochUnix, 86400))
}

func micros(t time.Time) int64 {
	return (t.Unix()-pgEpochUnix)*1000000 + int64(t.Nanosecond()/1000)
}

func clock(h, m, s, us int64) int64 { return ((h*60+m)*60+s)*1000000 + us }
