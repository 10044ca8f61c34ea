package capitests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// target is the platform the library and the C programs are built for and
// run on: this machine by default, or the one LAKELINK_TEST_TARGET names
// (build/platforms/run.sh sets it), emulated on this machine while the
// emulator runs natively on 127.0.0.1:
//
//   - windows-x86_64: lakelink.dll and the programs from mingw-w64
//     (x86_64-w64-mingw32-gcc), run under wine;
//   - linux-aarch64: liblakelink.so and the programs from aarch64-linux-gnu-gcc,
//     run under qemu-aarch64 (qemu-user) with Debian's arm64 sysroot.
//
// LAKELINK_TEST_LIBRARY, when set, is a library already built for the
// target (make dist's) to test instead of building one.
type target struct {
	name       string
	goos, arch string
	cc, cxx    string   // C and C++ compilers
	lib        string   // the library's file name
	run        []string // the runner a program's command line starts with; none natively
	asan       bool     // AddressSanitizer and LeakSanitizer work there
	cflags     []string // besides the common ones
	env        []string // the programs' extra environment
}

var tgt = func() target {
	switch name := os.Getenv("LAKELINK_TEST_TARGET"); name {
	case "":
		return target{cc: "gcc", cxx: "g++", lib: "liblakelink.so", asan: true}
	case "linux-aarch64":
		return target{name: name, goos: "linux", arch: "arm64", cc: "aarch64-linux-gnu-gcc", cxx: "aarch64-linux-gnu-g++",
			lib: "liblakelink.so", run: []string{"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"}}
	case "windows-x86_64":
		// -pthread: threads.c uses mingw-w64's winpthreads, whose DLL is
		// found through WINEPATH (set by prepareTarget).
		return target{name: name, goos: "windows", arch: "amd64", cc: "x86_64-w64-mingw32-gcc", cxx: "x86_64-w64-mingw32-g++",
			lib: "lakelink.dll", run: []string{"wine"}, env: []string{"WINEDEBUG=-all"}}
	default:
		panic(fmt.Sprintf("LAKELINK_TEST_TARGET=%s: want linux-aarch64 or windows-x86_64", name))
	}
}()

// programTimeout bounds one run of a program: 60 s natively, 4 minutes
// emulated (misuse.c takes about 50 s under qemu-user on a busy machine).
func (t target) programTimeout() time.Duration {
	if len(t.run) > 0 {
		return 4 * time.Minute
	}
	return 60 * time.Second
}

// exe is a program's file name on the target.
func (t target) exe(name string) string {
	if t.goos == "windows" {
		return name + ".exe"
	}
	return name
}

// linkFlags link a program with the library in libDir.
func (t target) linkFlags() []string {
	if t.goos == "windows" {
		return []string{"-L" + libDir, "-llakelink"} // found at run time through WINEPATH
	}
	return []string{"-L" + libDir, "-llakelink", "-Wl,-rpath," + libDir}
}

// command is the command line that runs bin with args on the target.
func (t target) command(bin string, args ...string) (string, []string) {
	if len(t.run) == 0 {
		return bin, args
	}
	return t.run[0], append(append(append([]string{}, t.run[1:]...), bin), args...)
}

// exports lists the lakelink_* functions the library exports.
func (t target) exports(lib string) ([]string, error) {
	var out []byte
	var err error
	var re *regexp.Regexp
	if t.goos == "windows" {
		// The DLL's export table: "[ n] name" lines.
		out, err = exec.Command("x86_64-w64-mingw32-objdump", "-p", lib).Output()
		re = regexp.MustCompile(`(?m)^\s*\[\s*\d+\]\s+(lakelink_\w+)\s*$`)
	} else {
		nm := "nm"
		if t.arch == "arm64" {
			nm = "aarch64-linux-gnu-nm"
		}
		out, err = exec.Command(nm, "-D", "--defined-only", lib).Output()
		re = regexp.MustCompile(`(?m)^\S+\s+T\s+(lakelink_\w+)$`)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s's exports: %w", lib, err)
	}
	var names []string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		names = append(names, m[1])
	}
	return names, nil
}

// prepareTarget readies the emulation after the library is built: for
// wine, a prefix (WINEPREFIX, else one in workDir) holding
// build/platforms/bcryptprimitives.c's DLL, which Wine 8.0 lacks and Go's
// runtime needs, and WINEPATH to the library and winpthreads.
func prepareTarget() error {
	if tgt.goos != "windows" {
		return nil
	}
	prefix := os.Getenv("WINEPREFIX")
	if prefix == "" {
		prefix = filepath.Join(workDir, "wine")
	}
	system32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(system32); err != nil {
		cmd := exec.Command("wine", "wineboot", "--init")
		cmd.Env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("wineboot --init in %s: %v\n%s", prefix, err, b)
		}
	}
	shim := filepath.Join(capiDir, "..", "build", "platforms", "bcryptprimitives.c")
	if b, err := exec.Command(tgt.cc, "-shared", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
		filepath.Join(system32, "bcryptprimitives.dll"), shim, "-ladvapi32").CombinedOutput(); err != nil {
		return fmt.Errorf("building the ProcessPrng shim: %v\n%s", err, b)
	}
	winpthread, err := exec.Command(tgt.cc, "-print-file-name=libwinpthread-1.dll").Output()
	if err != nil {
		return fmt.Errorf("finding libwinpthread-1.dll: %w", err)
	}
	tgt.env = append(tgt.env, "WINEPREFIX="+prefix,
		"WINEPATH="+libDir+";"+filepath.Dir(strings.TrimSpace(string(winpthread))))
	return nil
}
