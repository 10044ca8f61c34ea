package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// limitFileSize: Windows has no per-process file size limit, so the tests
// of a full disk (TestFullDiskKeepsTheRefreshToken...) are Unix-only.
func limitFileSize(uint64) error { return errors.New("no RLIMIT_FSIZE on Windows") }

// checkPrivate checks that the token store at location is the user's
// alone: its owner is the user and its DACL grants no one else (SYSTEM and
// Administrators aside) anything.
func checkPrivate(t *testing.T, location string) {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(location, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if owner, others, err := access(sd, ^windows.ACCESS_MASK(0)); err != nil || owner != "" || others != "" {
		t.Errorf("%s: owner %q, others granted access %q, %v; want the user's alone (%s)", location, owner, others, err, sd)
	}
}

// grantEveryone gives Everyone read and write access to path, on top of
// its DACL, as a careless icacls would.
func grantEveryone(t *testing.T, path string) {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + mustUser(t).String() + ")(A;;FRFW;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
}

func mustUser(t *testing.T) *windows.SID {
	t.Helper()
	u, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestStoreIsPrivateInAnOpenDirectory: in a directory whose DACL lets
// Everyone read the files created in it, the store and its lock are still
// created for the user alone.
func TestStoreIsPrivateInAnOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sd, _ := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;" + mustUser(t).String() + ")(A;OICI;FR;;;WD)")
	dacl, _, _ := sd.DACL()
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	location := filepath.Join(dir, "tokens.json")
	store, _ := OpenStore(location)
	put(t, store, "k", &StoredToken{AccessToken: "a"})
	checkPrivate(t, location)
	checkPrivate(t, location+".lock")
	if entry, err := store.Load("k"); err != nil || entry == nil || entry.AccessToken != "a" {
		t.Errorf("Load: %v %v", entry, err)
	}
}

// TestStoreRefusesFilesOthersMayUseWindows: a store or lock whose DACL
// grants Everyone access is refused, naming it.
func TestStoreRefusesFilesOthersMayUseWindows(t *testing.T) {
	location := tokenStore(t)
	store, _ := OpenStore(location)
	put(t, store, "k", &StoredToken{AccessToken: "a"})
	grantEveryone(t, location)
	if entry, err := store.Load("k"); err == nil || !strings.Contains(err.Error(), location) || !strings.Contains(err.Error(), "S-1-1-0") {
		t.Errorf("a store Everyone may use was read: %v %v", entry, err)
	}
	os.Remove(location)
	grantEveryone(t, location+".lock")
	err := store.Update(context.Background(), "k", func(*StoredToken) (*StoredToken, error) { return nil, nil })
	if err == nil || !strings.Contains(err.Error(), location+".lock") || !strings.Contains(err.Error(), "S-1-1-0") {
		t.Errorf("a lock Everyone may use: %v", err)
	}
}

// TestStoreFollowsNoSymlinkWindows: a symbolic link at the store's path is
// refused, not followed (skipped where the user may not make one).
func TestStoreFollowsNoSymlinkWindows(t *testing.T) {
	location := tokenStore(t)
	os.MkdirAll(filepath.Dir(location), 0o700)
	planted := filepath.Join(t.TempDir(), "planted.json")
	os.WriteFile(planted, []byte(`{"version": 1, "entries": {"k": {"access_token": "someone else's"}}}`), 0o600)
	if err := os.Symlink(planted, location); err != nil {
		t.Skipf("cannot make a symbolic link here (Windows needs developer mode or a privilege): %v", err)
	}
	store, _ := OpenStore(location)
	entry, err := store.Load("k")
	if entry != nil {
		t.Errorf("a store that is a symbolic link was read: %v %v", entry, err)
	}
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		// Wine makes a Unix symbolic link to the Windows path, which
		// resolves to nothing: no reparse point to refuse, nothing read.
		t.Logf("not refused as a symbolic link (under wine, a link to nowhere): %v", err)
	}
}
