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

// pyList is a list being built (APPENDS add to it after it was memoized).
type pyList struct{ items []any }

// pyMark is the stack's MARK.
type pyMark struct{}

// pyBytes is a bytes value (a Go string is a str).
type pyBytes []byte

// appendPickledRows appends the rows pickled in data to buf in COPY's text
// format (as appendCopyTextRow does for parameter rows), and returns how
// many there were. On any error buf is returned as it came.
func appendPickledRows(buf, data []byte) ([]byte, int, error) {
	top, err := unpickle(data)
	if err != nil {
		return buf, 0, err
	}
	rows, ok := top.(*pyList)
	if !ok {
		return buf, 0, ErrPickledRowsUnsupported
	}
	start := len(buf)
	for i, row := range rows.items {
		var values []any
		switch r := row.(type) {
		case *pyList:
			values = r.items
		case []any:
			values = r
		default:
			return buf[:start], 0, ErrPickledRowsUnsupported
		}
		for j, v := range values {
			if j > 0 {
				buf = append(buf, '\t')
			}
			switch x := v.(type) {
			case nil:
				buf = append(buf, `\N`...)
			case bool:
				buf = strconv.AppendBool(buf, x)
			case int64:
				buf = strconv.AppendInt(buf, x, 10)
			case *big.Int:
				buf = x.Append(buf, 10)
			case float64:
				buf = appendFloat8Text(buf, x)
			case string:
				if _, err := appendCheckedText(nil, []byte(x), "text"); err != nil {
					return buf[:start], 0, &DataError{SQLState: "22023", Err: fmt.Errorf("row %d: lakebase: parameter $%d: %w", i, j+1, err)}
				}
				buf = appendCopyEscaped(buf, []byte(x))
			case pyBytes:
				buf = append(buf, `\\x`...)
				buf = hex.AppendEncode(buf, x)
			default:
				return buf[:start], 0, ErrPickledRowsUnsupported
			}
		}
		buf = append(buf, '\n')
	}
	return buf, len(rows.items), nil
}

// unpickle runs the pickle machine over data for the opcodes above.
func unpickle(data []byte) (any, error) {
	var stack []any
	var memo []any
	short := errors.New("lakebase: pickled rows: truncated")
	take := func(i *int, n int) ([]byte, error) {
		if n < 0 || n > len(data)-*i {
			return nil, short
		}
		b := data[*i : *i+n]
		*i += n
		return b, nil
	}
	pop := func() (any, error) {
		if len(stack) == 0 {
			return nil, ErrPickledRowsUnsupported
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	popMark := func() ([]any, error) {
		for k := len(stack) - 1; k >= 0; k-- {
			if _, ok := stack[k].(pyMark); ok {
				items := append([]any(nil), stack[k+1:]...)
				stack = stack[:k]
				return items, nil
			}
		}
		return nil, ErrPickledRowsUnsupported
	}
	for i := 0; i < len(data); {
		op := data[i]
		i++
		var b []byte
		var err error
		switch op {
		case opProto:
			_, err = take(&i, 1)
		case opFrame:
			_, err = take(&i, 8)
		case opStop:
			if len(stack) != 1 {
				return nil, ErrPickledRowsUnsupported
			}
			return stack[0], nil
		case opMark:
			stack = append(stack, pyMark{})
		case opEmptyList:
			stack = append(stack, &pyList{})
		case opEmptyTuple:
			stack = append(stack, []any{})
		case opAppend, opAppends:
			var items []any
			if op == opAppend {
				var v any
				v, err = pop()
				items = []any{v}
			} else {
				items, err = popMark()
			}
			if err != nil {
				return nil, err
			}
			l, ok := any(nil), false
			if len(stack) > 0 {
				l = stack[len(stack)-1]
				_, ok = l.(*pyList)
			}
			if !ok {
				return nil, ErrPickledRowsUnsupported
			}
			l.(*pyList).items = append(l.(*pyList).items, items...)
		case opTuple:
			var items []any
			if items, err = popMark(); err == nil {
				stack = append(stack, items)
			}
		case opTuple1, opTuple2, opTuple3:
			n := int(op-opTuple1) + 1
			if len(stack) < n {
				return nil, ErrPickledRowsUnsupported
			}
			items := append([]any(nil), stack[len(stack)-n:]...)
			for _, v := range items {
				if _, isMark := v.(pyMark); isMark {
					return nil, ErrPickledRowsUnsupported
				}
			}
			stack = append(stack[:len(stack)-n], items)
		case opMemoize, opBinput, opLongBinput:
			if op == opBinput {
				_, err = take(&i, 1)
			} else if op == opLongBinput {
				_, err = take(&i, 4)
			}
			if len(stack) == 0 {
				return nil, ErrPickledRowsUnsupported
			}
			if op != opMemoize { // an explicit index: Python's pickler writes them in order
				return nil, ErrPickledRowsUnsupported
			}
			memo = append(memo, stack[len(stack)-1])
		case opBinGet, opLongBinGet:
			n := 1
			if op == opLongBinGet {
				n = 4
			}
			if b, err = take(&i, n); err == nil {
				k := int(b[0])
				if n == 4 {
					k = int(binary.LittleEndian.Uint32(b))
				}
				if k >= len(memo) {
					return nil, ErrPickledRowsUnsupported
				}
				stack = append(stack, memo[k])
			}
		case opNone:
			stack = append(stack, nil)
		case opNewTrue, opNewFalse:
			stack = append(stack, op == opNewTrue)
		case opBinInt1:
			if b, err = take(&i, 1); err == nil {
				stack = append(stack, int64(b[0]))
			}
		case opBinInt2:
			if b, err = take(&i, 2); err == nil {
				stack = append(stack, int64(binary.LittleEndian.Uint16(b)))
			}
		case opBinInt:
			if b, err = take(&i, 4); err == nil {
				stack = append(stack, int64(int32(binary.LittleEndian.Uint32(b))))
			}
		case opLong1, opLong4:
			n := 0
			if op == opLong1 {
				if b, err = take(&i, 1); err == nil {
					n = int(b[0])
				}
			} else if b, err = take(&i, 4); err == nil {
				n = int(binary.LittleEndian.Uint32(b))
			}
			if err == nil {
				if b, err = take(&i, n); err == nil {
					stack = append(stack, pyLong(b))
				}
			}
		case opBinFloat:
			if b, err = take(&i, 8); err == nil {
				stack = append(stack, math.Float64frombits(binary.BigEndian.Uint64(b)))
			}
		case opShortBinString, opShortBinBytes, opBinUnicode, opBinBytes, opBinUnicode8, opBinBytes8:
			var size []byte
			switch op {
			case opShortBinString, opShortBinBytes:
				size, err = take(&i, 1)
			case opBinUnicode, opBinBytes:
				size, err = take(&i, 4)
			default:
				size, err = take(&i, 8)
			}
			if err != nil {
				break
			}
			var n uint64
			for k := len(size) - 1; k >= 0; k-- {
				n = n<<8 | uint64(size[k])
			}
			if n > uint64(len(data)) {
				return nil, short
			}
			if b, err = take(&i, int(n)); err == nil {
				if op == opShortBinBytes || op == opBinBytes || op == opBinBytes8 {
					stack = append(stack, pyBytes(b))
				} else {
					stack = append(stack, string(b))
				}
			}
		default:
			return nil, ErrPickledRowsUnsupported
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, short
}

// pyLong is a LONG opcode's little-endian two's complement integer: an
// int64 when it fits, else a *big.Int.
func pyLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	be := make([]byte, len(b))
	for k := range b {
		be[len(b)-1-k] = b[k]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}
