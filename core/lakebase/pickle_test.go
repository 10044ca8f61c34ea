package lakebase

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"testing"
)

// This file holds a FormatPickle checker written from TYPES.md alone, and
// the test that Python itself decodes pickle batches.

// checkPickle walks a pickle batch opcode by opcode, as far as TYPES.md
// says a batch may go, checking the stack, the memo and the globals, and
// returns the row count. Python itself decodes the batches in
// TestPythonDecodesPickleBatches.
func checkPickle(b []byte) (rows int, err error) {
	allowed := map[string]bool{}
	for _, g := range pyGlobalNames {
		allowed[g[0]+"."+g[1]] = true
	}
	le := binary.LittleEndian
	if len(b) < 11 || b[0] != opProto || b[1] != 4 || b[2] != opFrame || int(le.Uint64(b[3:])) != len(b)-11 {
		return 0, errors.New("no PROTO 4 and FRAME spanning the rest")
	}
	type item struct {
		list  int // elements, for a list
		isStr string
		mark  bool
	}
	var stack []item
	var memo []item
	pop := func() (item, error) {
		if len(stack) == 0 || stack[len(stack)-1].mark {
			return item{}, errors.New("stack underflow")
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return it, nil
	}
	toMark := func() ([]item, error) {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].mark {
				items := stack[i+1:]
				stack = stack[:i]
				return items, nil
			}
		}
		return nil, errors.New("no mark")
	}
	i := 11
	need := func(n int) ([]byte, error) {
		if i+n > len(b) {
			return nil, errors.New("truncated")
		}
		s := b[i : i+n]
		i += n
		return s, nil
	}
	for i < len(b) {
		op := b[i]
		i++
		var arg []byte
		switch op {
		case opMark:
			stack = append(stack, item{mark: true})
		case opNone, opNewTrue, opNewFalse:
			stack = append(stack, item{})
		case opBinInt1:
			if _, err = need(1); err == nil {
				stack = append(stack, item{})
			}
		case opBinInt:
			if _, err = need(4); err == nil {
				stack = append(stack, item{})
			}
		case opLong1:
			if arg, err = need(1); err == nil {
				if _, err = need(int(arg[0])); err == nil {
					stack = append(stack, item{})
				}
			}
		case opBinFloat:
			if _, err = need(8); err == nil {
				stack = append(stack, item{})
			}
		case opShortBinString, opShortBinBytes:
			if arg, err = need(1); err == nil {
				if arg, err = need(int(arg[0])); err == nil {
					stack = append(stack, item{isStr: string(arg)})
				}
			}
		case opBinUnicode, opBinBytes:
			if arg, err = need(4); err == nil {
				if arg, err = need(int(le.Uint32(arg))); err == nil {
					stack = append(stack, item{isStr: string(arg)})
				}
			}
		case opEmptyList:
			stack = append(stack, item{list: 0})
		case opAppends:
			var items []item
			if items, err = toMark(); err == nil {
				if len(stack) == 0 {
					err = errors.New("APPENDS without a list")
				} else {
					stack[len(stack)-1].list += len(items)
					if len(stack) == 2 { // [version, rows]
						rows += len(items)
					}
				}
			}
		case opTuple:
			if _, err = toMark(); err == nil {
				stack = append(stack, item{})
			}
		case opTuple1, opTuple2, opTuple3:
			for k := 0; k < int(op-opTuple1)+1 && err == nil; k++ {
				_, err = pop()
			}
			stack = append(stack, item{})
		case opStackGlobal:
			var mod, name item
			if name, err = pop(); err == nil {
				if mod, err = pop(); err == nil && !allowed[mod.isStr+"."+name.isStr] {
					err = fmt.Errorf("global %s.%s is not in TYPES.md's list", mod.isStr, name.isStr)
				}
			}
			stack = append(stack, item{})
		case opMemoize:
			if len(stack) == 0 {
				err = errors.New("MEMOIZE on an empty stack")
			} else {
				memo = append(memo, stack[len(stack)-1])
			}
		case opBinGet:
			if arg, err = need(1); err == nil {
				if int(arg[0]) >= len(memo) {
					err = fmt.Errorf("BINGET %d of %d", arg[0], len(memo))
				} else {
					stack = append(stack, memo[arg[0]])
				}
			}
		case opReduce:
			if _, err = pop(); err == nil {
				_, err = pop()
			}
			stack = append(stack, item{})
		case opStop:
			if i != len(b) {
				return 0, errors.New("bytes after STOP")
			}
			if len(stack) != 1 {
				return 0, fmt.Errorf("%d items on the stack at STOP", len(stack))
			}
			return rows, nil
		default:
			return 0, fmt.Errorf("opcode 0x%02x at %d is not one TYPES.md lists", op, i-1)
		}
		if err != nil {
			return 0, fmt.Errorf("at byte %d: %w", i, err)
		}
	}
	return 0, errors.New("no STOP")
}

// pythonDecoder is how TYPES.md says the Python binding reads a pickle
// batch: an unpickler that accepts the listed globals only.
const pythonDecoder = `
import base64, io, json, pickle, sys

ALLOWED = {("decimal", "Decimal"), ("datetime", "date"), ("datetime", "time"), ("datetime", "datetime"),
           ("datetime", "timedelta"), ("datetime", "timezone.utc"), ("uuid", "UUID"), ("json", "loads")}

class BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"a lakelink batch may not name {module}.{name}")
        return super().find_class(module, name)

out = []
for b in json.load(sys.stdin):
    version, rows = BatchUnpickler(io.BytesIO(base64.b64decode(b))).load()
    assert version == 1 and isinstance(rows, list) and all(type(r) is tuple for r in rows)
    out.append([[repr(v) for v in row] for row in rows])
json.dump(out, sys.stdout)
`

// runPython decodes pickle batches with pythonDecoder and returns repr()
// of every value; it skips the test when there is no python3.
func runPython(t *testing.T, batches [][]byte) [][][]string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	in := make([]string, len(batches))
	for i, b := range batches {
		in[i] = base64.StdEncoding.EncodeToString(b)
	}
	stdin, _ := json.Marshal(in)
	cmd := exec.Command(py, "-c", pythonDecoder)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	var reprs [][][]string
	if err := json.Unmarshal(out, &reprs); err != nil {
		t.Fatal(err)
	}
	return reprs
}

// TestPythonDecodesPickleBatches has Python decode the pickle batches of
// TestRoundTrip and checks repr() of each value.
func TestPythonDecodesPickleBatches(t *testing.T) {
	if pythonChecks == nil {
		TestRoundTrip(t) // when run alone
	}
	batches := make([][]byte, len(pythonChecks))
	for i, c := range pythonChecks {
		batches[i] = c.batch
	}
	reprs := runPython(t, batches)
	for i, c := range pythonChecks {
		if got := reprs[i][0][0]; got != c.repr {
			t.Errorf("%s: Python decoded %s, want %s", c.what, got, c.repr)
		}
	}
	t.Logf("Python decoded %d batches", len(pythonChecks))
}
