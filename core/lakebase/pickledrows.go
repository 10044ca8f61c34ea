package lakebase

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// This file reads rows a Python binding pickles (pickle.dumps of a list of
// tuples or lists) into COPY's text format: the Python binding's fast
// path for cursor.copy().write_row, where pickling in C costs a fraction
// of encoding parameter rows in Python. Only the plain values are read —
// None, bool, int, float, str, bytes — each as its parameter of the same
// kind would be (TYPES.md, "Pickled rows"); anything else is
// ErrPickledRowsUnsupported, nothing being written, and the binding sends
// those rows as parameter rows instead.

// ErrPickledRowsUnsupported says pickled rows hold what they may not (a
// value of another type, another pickle shape): send them as parameter
// rows.
var ErrPickledRowsUnsupported = errors.New("lakebase: pickled rows: a value or shape only parameter rows carry " +
	"(pickled rows carry a list of tuples or lists of None, bool, int, float, str and bytes)")

// Pickle opcodes that plain rows use, besides pickle.go's.
const (
	opEmptyTuple  = ')'
	opAppend      = 'a'
	opBinput      = 'q'
	opLongBinput  = 'r'
	opLongBinGet  = 'j'
	opBinInt2     = 'M'
	opLong4       = 0x8b
	opBinUnicode8 = 0x8d
	opBinBytes8   = 0x8e
)

// pickled is an entry of the pickle machine's stack (or memo): a cell (a
// value already in COPY's text form: arena[a:b]), a row (its cells joined
// by tabs: arena[a:b]), a list being built (the outer one, or a row given
// as a list), or a MARK.
type pickled struct {
	kind pickledKind
	a, b int
	list *pickledList
}

type pickledKind uint8

const (
	pkCell pickledKind = iota + 1
	pkRow
	pkList
	pkMark
)

// pickledList is a list: the outer list of rows (rows set), or a row
// given as a list (its cells).
type pickledList struct {
	outer bool
	rows  int
	cells []pickled
}

// appendPickledRows appends the rows pickled in data to buf in COPY's text
// format (as appendCopyTextRow does for parameter rows), and returns how
// many there were. On any error buf is returned as it came. Each value is
// written as text once, as it is read; rows are copied to buf as the
// outer list takes them (a row the pickle repeats is written again).
func appendPickledRows(buf, data []byte) ([]byte, int, error) {
	return new(unpickler).appendRows(buf, data)
}

// appendRows is appendPickledRows reusing d's memory from earlier calls.
func (d *unpickler) appendRows(buf, data []byte) ([]byte, int, error) {
	*d = unpickler{data: data, out: buf, start: len(buf), arena: d.arena[:0], stack: d.stack[:0], memo: d.memo[:0]}
	n, err := d.run()
	out := d.out
	d.data, d.out, d.outer = nil, nil, nil
	clear(d.memo[:cap(d.memo)]) // no lists kept alive
	if err != nil {
		return buf[:d.start], 0, err
	}
	return out, n, nil
}

type unpickler struct {
	data  []byte
	i     int
	out   []byte
	start int
	arena []byte // cells' and rows' text
	stack []pickled
	memo  []pickled
	outer *pickledList
	row   int // rows taken by the outer list, for errors
}

var errPickleShort = errors.New("lakebase: pickled rows: truncated")

func (d *unpickler) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.data)-d.i {
		return nil, errPickleShort
	}
	b := d.data[d.i : d.i+n]
	d.i += n
	return b, nil
}

func (d *unpickler) push(e pickled) { d.stack = append(d.stack, e) }

// cell pushes the text appended to the arena since a.
func (d *unpickler) cell(a int) { d.push(pickled{kind: pkCell, a: a, b: len(d.arena)}) }

// marked pops the entries after the topmost MARK, and the MARK.
func (d *unpickler) marked() ([]pickled, error) {
	for k := len(d.stack) - 1; k >= 0; k-- {
		if d.stack[k].kind == pkMark {
			items := d.stack[k+1:]
			d.stack = d.stack[:k]
			return items, nil
		}
	}
	return nil, ErrPickledRowsUnsupported
}

// joinRow appends cells as one row's text to the arena and pushes it.
func (d *unpickler) joinRow(cells []pickled) error {
	a := len(d.arena)
	for k, c := range cells {
		if c.kind != pkCell {
			return ErrPickledRowsUnsupported
		}
		if k > 0 {
			d.arena = append(d.arena, '\t')
		}
		d.arena = append(d.arena, d.arena[c.a:c.b]...)
	}
	d.push(pickled{kind: pkRow, a: a, b: len(d.arena)})
	return nil
}

// appendTo adds items to the list below them on the stack: rows to the
// outer list (written out), cells to a row list.
func (d *unpickler) appendTo(items []pickled) error {
	if len(d.stack) == 0 || d.stack[len(d.stack)-1].kind != pkList {
		return ErrPickledRowsUnsupported
	}
	l := d.stack[len(d.stack)-1].list
	if !l.outer {
		for _, it := range items {
			if it.kind != pkCell {
				return ErrPickledRowsUnsupported
			}
		}
		l.cells = append(l.cells, items...)
		return nil
	}
	for _, it := range items {
		switch it.kind {
		case pkRow:
			d.out = append(d.out, d.arena[it.a:it.b]...)
		case pkList:
			if it.list.outer {
				return ErrPickledRowsUnsupported
			}
			for k, c := range it.list.cells {
				if k > 0 {
					d.out = append(d.out, '\t')
				}
				d.out = append(d.out, d.arena[c.a:c.b]...)
			}
		default:
			return ErrPickledRowsUnsupported
		}
		d.out = append(d.out, '\n')
		l.rows++
		d.row++
	}
	return nil
}

// run runs the pickle machine over d.data for the opcodes above.
func (d *unpickler) run() (int, error) {
	for d.i < len(d.data) {
		op := d.data[d.i]
		d.i++
		var b []byte
		var err error
		a := len(d.arena)
		switch op {
		case opProto:
			_, err = d.take(1)
		case opFrame:
			_, err = d.take(8)
		case opStop:
			if len(d.stack) != 1 || d.stack[0].kind != pkList || !d.stack[0].list.outer {
				return 0, ErrPickledRowsUnsupported
			}
			return d.outer.rows, nil
		case opMark:
			d.push(pickled{kind: pkMark})
		case opEmptyList:
			l := &pickledList{}
			if d.outer == nil {
				if len(d.stack) != 0 {
					return 0, ErrPickledRowsUnsupported
				}
				l.outer, d.outer = true, l
			}
			d.push(pickled{kind: pkList, list: l})
		case opEmptyTuple:
			err = d.joinRow(nil)
		case opAppend:
			if len(d.stack) < 2 {
				return 0, ErrPickledRowsUnsupported
			}
			it := d.stack[len(d.stack)-1]
			d.stack = d.stack[:len(d.stack)-1]
			err = d.appendTo([]pickled{it})
		case opAppends:
			var items []pickled
			if items, err = d.marked(); err == nil {
				err = d.appendTo(items)
			}
		case opTuple:
			var items []pickled
			if items, err = d.marked(); err == nil {
				err = d.joinRow(items)
			}
		case opTuple1, opTuple2, opTuple3:
			n := int(op-opTuple1) + 1
			if len(d.stack) < n {
				return 0, ErrPickledRowsUnsupported
			}
			items := d.stack[len(d.stack)-n:]
			d.stack = d.stack[:len(d.stack)-n]
			err = d.joinRow(items)
		case opMemoize:
			if len(d.stack) == 0 {
				return 0, ErrPickledRowsUnsupported
			}
			d.memo = append(d.memo, d.stack[len(d.stack)-1])
		case opBinGet, opLongBinGet:
			n := 1
			if op == opLongBinGet {
				n = 4
			}
			if b, err = d.take(n); err == nil {
				k := int(b[0])
				if n == 4 {
					k = int(binary.LittleEndian.Uint32(b))
				}
				if k >= len(d.memo) || d.memo[k].kind == pkList && d.memo[k].list.outer {
					return 0, ErrPickledRowsUnsupported
				}
				d.push(d.memo[k])
			}
		case opNone:
			d.arena = append(d.arena, `\N`...)
			d.cell(a)
		case opNewTrue, opNewFalse:
			d.arena = strconv.AppendBool(d.arena, op == opNewTrue)
			d.cell(a)
		case opBinInt1:
			if b, err = d.take(1); err == nil {
				d.arena = strconv.AppendInt(d.arena, int64(b[0]), 10)
				d.cell(a)
			}
		case opBinInt2:
			if b, err = d.take(2); err == nil {
				d.arena = strconv.AppendInt(d.arena, int64(binary.LittleEndian.Uint16(b)), 10)
				d.cell(a)
			}
		case opBinInt:
			if b, err = d.take(4); err == nil {
				d.arena = strconv.AppendInt(d.arena, int64(int32(binary.LittleEndian.Uint32(b))), 10)
				d.cell(a)
			}
		case opLong1, opLong4:
			n := 0
			if op == opLong1 {
				if b, err = d.take(1); err == nil {
					n = int(b[0])
				}
			} else if b, err = d.take(4); err == nil {
				n = int(binary.LittleEndian.Uint32(b))
			}
			if err == nil {
				if b, err = d.take(n); err == nil {
					d.arena = appendPyLong(d.arena, b)
					d.cell(a)
				}
			}
		case opBinFloat:
			if b, err = d.take(8); err == nil {
				d.arena = appendFloat8Text(d.arena, math.Float64frombits(binary.BigEndian.Uint64(b)))
				d.cell(a)
			}
		case opShortBinString, opShortBinBytes, opBinUnicode, opBinBytes, opBinUnicode8, opBinBytes8:
			var size []byte
			switch op {
			case opShortBinString, opShortBinBytes:
				size, err = d.take(1)
			case opBinUnicode, opBinBytes:
				size, err = d.take(4)
			default:
				size, err = d.take(8)
			}
			if err != nil {
				break
			}
			var n uint64
			for k := len(size) - 1; k >= 0; k-- {
				n = n<<8 | uint64(size[k])
			}
			if n > uint64(len(d.data)) {
				return 0, errPickleShort
			}
			if b, err = d.take(int(n)); err != nil {
				break
			}
			if op == opShortBinBytes || op == opBinBytes || op == opBinBytes8 {
				d.arena = append(d.arena, `\\x`...)
				d.arena = hex.AppendEncode(d.arena, b)
			} else {
				if err := checkText(b, "text"); err != nil {
					return 0, &DataError{SQLState: "22023", Err: fmt.Errorf("row %d: lakebase: %w", d.row, err)}
				}
				d.arena = appendCopyEscaped(d.arena, b)
			}
			d.cell(a)
		default:
			return 0, ErrPickledRowsUnsupported
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, errPickleShort
}

// appendPyLong appends a LONG opcode's little-endian two's complement
// integer in decimal.
func appendPyLong(buf, b []byte) []byte {
	if len(b) == 0 {
		return append(buf, '0')
	}
	if len(b) <= 8 {
		var v uint64
		for k := len(b) - 1; k >= 0; k-- {
			v = v<<8 | uint64(b[k])
		}
		shift := 64 - 8*uint(len(b))
		return strconv.AppendInt(buf, int64(v<<shift)>>shift, 10) // sign-extended
	}
	be := make([]byte, len(b))
	for k := range b {
		be[len(b)-1-k] = b[k]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n.Append(buf, 10)
}
