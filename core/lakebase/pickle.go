package lakebase

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file writes FormatPickle, the Python binding's batches, and holds
// everything lakelink knows of Python: the pickle opcodes it writes, the
// globals a batch refers to (TYPES.md lists them for the binding's
// restricted unpickler) and the limits of Python's types (years 1 to 9999,
// times before 24:00:00, ±999,999,999 days), beyond which a value makes the
// batch fail. Nothing else in the package is specific to Python.

// Pickle opcodes (Python's Lib/pickletools.py has them all).
const (
	opProto          = 0x80
	opFrame          = 0x95
	opMark           = '('
	opStop           = '.'
	opNone           = 'N'
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong1          = 0x8a
	opBinFloat       = 'G'
	opShortBinString = 0x8c // SHORT_BINUNICODE
	opBinUnicode     = 'X'
	opShortBinBytes  = 'C'
	opBinBytes       = 'B'
	opEmptyList      = ']'
	opAppends        = 'e'
	opTuple          = 't'
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opBinGet         = 'h'
	opReduce         = 'R'
)

// pyGlobal is a Python object a pickle batch refers to; TYPES.md lists
// them for the binding's restricted unpickler.
type pyGlobal uint8

const (
	pyDecimal pyGlobal = iota
	pyDate
	pyTime
	pyDatetime
	pyTimedelta
	pyUTC
	pyUUID
	pyJSONLoads
	pyGlobals
)

var pyGlobalNames = [pyGlobals][2]string{
	pyDecimal:   {"decimal", "Decimal"},
	pyDate:      {"datetime", "date"},
	pyTime:      {"datetime", "time"},
	pyDatetime:  {"datetime", "datetime"},
	pyTimedelta: {"datetime", "timedelta"},
	pyUTC:       {"datetime", "timezone.utc"},
	pyUUID:      {"uuid", "UUID"},
	pyJSONLoads: {"json", "loads"},
}

// pickler writes a pickle batch.
type pickler struct {
	buf  []byte
	memo [pyGlobals]int // memo index + 1 of each global pushed so far
	next int
	text []byte // scratch
}

// encodePickle writes FormatPickle: the pickle of the tuple (1, rows),
// rows a list of tuples, in one frame (without frames, an Unpickler
// reading from a file object reads opcode by opcode, 2.5 times slower).
func encodePickle(cols []Column, rows [][]any) ([]byte, error) {
	p := &pickler{buf: make([]byte, 0, 64+len(rows)*len(cols)*12)}
	p.buf = append(p.buf, opProto, 4, opFrame, 0, 0, 0, 0, 0, 0, 0, 0) // frame length set at the end
	p.buf = append(p.buf, opBinInt1, formatVersion, opEmptyList)
	types := make([]columnType, len(cols))
	for c, col := range cols {
		types[c] = columnTypeOf(col.TypeOID)
	}
	for start := 0; start < len(rows); start += 1000 { // APPENDS in chunks, as Python's pickler does
		p.buf = append(p.buf, opMark)
		for i, r := range rows[start:min(start+1000, len(rows))] {
			p.buf = append(p.buf, opMark)
			for c, v := range r {
				if err := p.value(types[c], v); err != nil {
					return nil, valueError(cols, c, start+i, err)
				}
			}
			p.buf = append(p.buf, opTuple)
		}
		p.buf = append(p.buf, opAppends)
	}
	p.buf = append(p.buf, opTuple2, opStop)
	binary.LittleEndian.PutUint64(p.buf[3:], uint64(len(p.buf)-11))
	return p.buf, nil
}

// global pushes a Python global, memoized on first use.
func (p *pickler) global(g pyGlobal) {
	if m := p.memo[g]; m > 0 {
		p.buf = append(p.buf, opBinGet, byte(m-1))
		return
	}
	p.str(pyGlobalNames[g][0])
	p.str(pyGlobalNames[g][1])
	p.buf = append(p.buf, opStackGlobal, opMemoize)
	p.memo[g] = p.next + 1
	p.next++
}

func (p *pickler) str(s string) {
	if len(s) < 256 {
		p.buf = append(p.buf, opShortBinString, byte(len(s)))
	} else {
		p.buf = append(p.buf, opBinUnicode)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(s)))
	}
	p.buf = append(p.buf, s...)
}

func (p *pickler) bytes(b []byte) {
	if len(b) < 256 {
		p.buf = append(p.buf, opShortBinBytes, byte(len(b)))
	} else {
		p.buf = append(p.buf, opBinBytes)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(b)))
	}
	p.buf = append(p.buf, b...)
}

func (p *pickler) int(n int64) {
	switch {
	case n >= 0 && n < 256:
		p.buf = append(p.buf, opBinInt1, byte(n))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		p.buf = append(p.buf, opBinInt)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(n))
	default:
		p.buf = append(p.buf, opLong1, 8)
		p.buf = binary.LittleEndian.AppendUint64(p.buf, uint64(n))
	}
}

// call pushes g(args) given the opcode that builds the args tuple, the
// args being pushed by push.
func (p *pickler) call(g pyGlobal, tuple byte, push func()) {
	p.global(g)
	push()
	p.buf = append(p.buf, tuple, opReduce)
}

// errNoPython is a value Python's types cannot hold.
func errNoPython(what string) error {
	return fmt.Errorf("%s has no Python equivalent; cast the column to text in SQL to read it", what)
}

// yearName names a year of the proleptic Gregorian calendar, in which
// year 0 is 1 BC.
func yearName(y int) string {
	if y <= 0 {
		return fmt.Sprintf("%d BC", 1-y)
	}
	return fmt.Sprintf("year %d", y)
}

// The limits of Python's types: a value beyond them has no Python
// equivalent, and fails its batch (see errNoPython).
const (
	pyMinYear          = 1         // datetime.MINYEAR
	pyMaxYear          = 9999      // datetime.MAXYEAR
	pyMaxTimedeltaDays = 999999999 // timedelta.max.days
	pyDayMicroseconds  = 86400_000000
)

// value pickles v, of type t, as its Python object.
func (p *pickler) value(t columnType, v any) error {
	switch {
	case v == nil:
		p.buf = append(p.buf, opNone)
		return nil
	case t.kind == kindArray:
		return p.list(t, v)
	case int(t.kind) < len(pickleValues) && pickleValues[t.kind] != nil:
		return pickleValues[t.kind](p, t, v)
	}
	return fmt.Errorf("unknown kind %d", t.kind)
}

// pickleValues pickles a value, not NULL, of each kind but kindArray (see
// pickler.list).
var pickleValues = [...]func(p *pickler, t columnType, v any) error{
	kindText:        (*pickler).textValue,
	kindBool:        (*pickler).bool,
	kindInt32:       (*pickler).integer,
	kindInt64:       (*pickler).integer,
	kindFloat64:     (*pickler).float,
	kindNumeric:     (*pickler).decimal,
	kindBytes:       (*pickler).byteString,
	kindDate:        (*pickler).date,
	kindTime:        (*pickler).time,
	kindTimestamp:   (*pickler).datetime,
	kindTimestamptz: (*pickler).datetime,
	kindInterval:    (*pickler).timedelta,
	kindUUID:        (*pickler).uuid,
	kindJSON:        (*pickler).json,
}

func (p *pickler) textValue(t columnType, v any) error {
	p.str(toText(v, t.oid))
	return nil
}

func (p *pickler) bool(_ columnType, v any) error {
	b, err := toBool(v)
	if b {
		p.buf = append(p.buf, opNewTrue)
	} else {
		p.buf = append(p.buf, opNewFalse)
	}
	return err
}

func (p *pickler) integer(_ columnType, v any) error {
	n, err := toInt64(v)
	p.int(n)
	return err
}

func (p *pickler) float(_ columnType, v any) error {
	f, err := toFloat64(v)
	p.buf = append(p.buf, opBinFloat)
	p.buf = binary.BigEndian.AppendUint64(p.buf, math.Float64bits(f))
	return err
}

// decimal pickles a numeric as decimal.Decimal(text).
func (p *pickler) decimal(_ columnType, v any) error {
	return p.callOnText(pyDecimal, appendNumeric, v)
}

// callOnText pushes g(text), text being v's as appendText appends it.
func (p *pickler) callOnText(g pyGlobal, appendText func([]byte, any) ([]byte, error), v any) error {
	var err error
	p.text, err = appendText(p.text[:0], v)
	p.call(g, opTuple1, func() { p.str(string(p.text)) })
	return err
}

func (p *pickler) byteString(_ columnType, v any) error {
	b, err := toBytes(v)
	p.bytes(b)
	return err
}

// date pickles datetime.date from its pickled state (year, month, day).
func (p *pickler) date(_ columnType, v any) error {
	d, err := toDate(v)
	if err != nil {
		return err
	}
	if d == dateInfinity || d == dateNegInfinity {
		return errNoPython("date ±infinity")
	}
	t := civil(int64(d) * 86400)
	if t.Year() < pyMinYear || t.Year() > pyMaxYear {
		return errNoPython(fmt.Sprintf("a date in %s (Python's dates span years 1 to 9999)", yearName(t.Year())))
	}
	p.call(pyDate, opTuple1, func() {
		p.bytes([]byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day())})
	})
	return nil
}

// time pickles datetime.time from its pickled state (hour, minute,
// second, microseconds).
func (p *pickler) time(_ columnType, v any) error {
	us, err := toTime(v)
	if err != nil {
		return err
	}
	if us < 0 || us >= pyDayMicroseconds {
		return errNoPython("time of day 24:00:00")
	}
	s, f := us/1000000, us%1000000
	p.call(pyTime, opTuple1, func() {
		p.bytes([]byte{byte(s / 3600), byte(s / 60 % 60), byte(s % 60), byte(f >> 16), byte(f >> 8), byte(f)})
	})
	return nil
}

// datetime pickles datetime.datetime from its pickled state, with
// datetime.timezone.utc for a timestamptz.
func (p *pickler) datetime(ct columnType, v any) error {
	tz := ct.kind == kindTimestamptz
	us, err := toTimestamp(v, tz)
	if err != nil {
		return err
	}
	if us == timestampInfinity || us == timestampNegInfinity {
		return errNoPython("timestamp ±infinity")
	}
	t := civil(floorDiv(us, 1000000))
	f := us - floorDiv(us, 1000000)*1000000
	if t.Year() < pyMinYear || t.Year() > pyMaxYear {
		return errNoPython(fmt.Sprintf("a timestamp in %s (Python's datetimes span years 1 to 9999)", yearName(t.Year())))
	}
	state := []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(f >> 16), byte(f >> 8), byte(f)}
	if tz {
		p.call(pyDatetime, opTuple2, func() { p.bytes(state); p.global(pyUTC) })
	} else {
		p.call(pyDatetime, opTuple1, func() { p.bytes(state) })
	}
	return nil
}

// timedelta pickles an interval as datetime.timedelta(days, 0, µs), a
// month counting 30 days.
func (p *pickler) timedelta(_ columnType, v any) error {
	us, d, m, err := toInterval(v)
	if err != nil {
		return err
	}
	days := int64(m)*30 + int64(d)
	if total := days + us/pyDayMicroseconds; total > pyMaxTimedeltaDays || total < -pyMaxTimedeltaDays {
		return errNoPython("an interval beyond ±999,999,999 days")
	}
	p.call(pyTimedelta, opTuple3, func() { p.int(days); p.int(0); p.int(us) })
	return nil
}

// uuid pickles uuid.UUID(None, bytes).
func (p *pickler) uuid(_ columnType, v any) error {
	u, err := toUUID(v)
	p.call(pyUUID, opTuple2, func() { p.buf = append(p.buf, opNone); p.bytes(u[:]) })
	return err
}

// json pickles a json document as json.loads(text).
func (p *pickler) json(_ columnType, v any) error { return p.callOnText(pyJSONLoads, appendJSONDoc, v) }

// list pickles an array as a list of its elements (nested arrays as
// nested lists).
func (p *pickler) list(t columnType, v any) error {
	a, ok := v.([]any)
	if !ok {
		return errType(v, "[]any")
	}
	p.buf = append(p.buf, opEmptyList)
	if len(a) == 0 {
		return nil
	}
	p.buf = append(p.buf, opMark)
	for i, e := range a {
		et := columnType{t.elem, t.elem, t.oid}
		if _, nested := e.([]any); nested {
			et.kind = kindArray
		}
		if err := p.value(et, e); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	p.buf = append(p.buf, opAppends)
	return nil
}
