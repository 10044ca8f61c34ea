package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows a file's mode bits say nothing of who may use it: its access
// control list (DACL) does. The store's files are created with a protected
// DACL that grants the user alone full access (mode 0600's equivalent,
// whatever the directory would pass on), and a file lakelink opens must be
// owned by the user and grant no one else anything. Besides the user, only
// SYSTEM and Administrators, who may read every file anyway, are accepted
// in a DACL (as root is on Unix).

// errReparsePoint: the path is a symbolic link or another reparse point.
var errReparsePoint = errors.New("a reparse point")

// isSymlinkRefusal reports whether openFile refused a reparse point.
func isSymlinkRefusal(err error) bool { return errors.Is(err, errReparsePoint) }

// openFile opens a token store file without following a symbolic link or
// junction (FILE_FLAG_OPEN_REPARSE_POINT opens the link itself, which is
// then refused). A file it creates gets the private DACL. It shares
// deletion, so that another process can rename a new version over the
// store while this one reads it.
func openFile(path string, flag int) (*os.File, error) {
	access := uint32(windows.GENERIC_READ)
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		access |= windows.GENERIC_WRITE
	}
	disposition := uint32(windows.OPEN_EXISTING)
	var sa *windows.SecurityAttributes
	if flag&os.O_CREATE != 0 {
		disposition = windows.OPEN_ALWAYS
		var err error
		if sa, err = privateAttributes(); err != nil {
			return nil, err
		}
	}
	return create(path, access, disposition, sa)
}

// createTemp creates the store's next version in dir, with the private DACL.
func createTemp(dir string) (*os.File, error) {
	sa, err := privateAttributes()
	if err != nil {
		return nil, err
	}
	for {
		f, err := create(filepath.Join(dir, ".oauth-tokens-"+rand.Text()), windows.GENERIC_READ|windows.GENERIC_WRITE, windows.CREATE_NEW, sa)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
}

func create(path string, access, disposition uint32, sa *windows.SecurityAttributes) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, sa,
		disposition, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		windows.CloseHandle(h)
		return nil, errReparsePoint
	}
	return os.NewFile(uintptr(h), path), nil
}

// privateAttributes are the security attributes of a new store file: a
// protected DACL granting the user alone full access.
func privateAttributes() (*windows.SecurityAttributes, error) {
	user, err := currentUser()
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + user.String() + ")")
	if err != nil {
		return nil, fmt.Errorf("token store: the security descriptor of a private file: %w", err)
	}
	return &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}, nil
}

// currentUser is the SID of the user this process runs as.
func currentUser() (*windows.SID, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("token store: who is the user: %w", err)
	}
	return tu.User.Sid.Copy()
}

// fileDeleteChild is a directory's right to delete any file in it.
const fileDeleteChild = 0x40

// dirAccess refuses a store directory another user controls: one owned by
// another user (SYSTEM and Administrators aside), or whose DACL lets
// others delete or replace the files in it or change its DACL or owner.
// Others merely adding files can only put a file lakelink then refuses,
// as in a sticky directory on Unix.
func dirAccess(dir string, _ os.FileInfo) error {
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("token store directory %s: reading its access control list: %w", dir, err)
	}
	owner, others, err := access(sd, fileDeleteChild|windows.DELETE|windows.WRITE_DAC|windows.WRITE_OWNER|windows.GENERIC_ALL)
	if err != nil {
		return fmt.Errorf("token store directory %s: %w", dir, err)
	}
	if owner != "" {
		return fmt.Errorf("token store directory %s is owned by %s, not by you: use a directory of yours as OAuthSettingsLocation", dir, owner)
	}
	if others != "" {
		return fmt.Errorf("token store directory %s lets other users (%s) replace the files in it: use a directory of yours as OAuthSettingsLocation", dir, others)
	}
	return nil
}

// fileAccess refuses a regular file f that is not the user's alone: owned
// by another user, with another name (a hard link), or whose DACL grants
// anyone else any access.
func fileAccess(f *os.File, _ os.FileInfo) error {
	h := windows.Handle(f.Fd())
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return fmt.Errorf("token store file %s: %w", f.Name(), err)
	}
	if info.NumberOfLinks != 1 {
		return fmt.Errorf("%s has %d links (names): it is, or is linked to, another file; remove it", f.Name(), info.NumberOfLinks)
	}
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("token store file %s: reading its access control list: %w", f.Name(), err)
	}
	owner, others, err := access(sd, ^windows.ACCESS_MASK(0))
	if err != nil {
		return fmt.Errorf("token store file %s: %w", f.Name(), err)
	}
	if owner != "" {
		return fmt.Errorf("%s is owned by %s, not by you: lakelink uses only its own files there; remove it", f.Name(), owner)
	}
	if others != "" {
		return fmt.Errorf("%s may be used by other users (its access control list grants %s): remove it, and lakelink creates it for you alone", f.Name(), others)
	}
	return nil
}

// access reads a security descriptor: owner is the owner's SID unless it
// is the user (or SYSTEM or Administrators), and others lists the SIDs
// other than those that its DACL grants any of the rights in mask ("" for
// none). A NULL DACL grants everyone everything.
func access(sd *windows.SECURITY_DESCRIPTOR, mask windows.ACCESS_MASK) (owner, others string, err error) {
	user, err := currentUser()
	if err != nil {
		return "", "", err
	}
	trusted := func(sid *windows.SID) bool {
		return sid.Equals(user) || sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinBuiltinAdministratorsSid)
	}
	o, _, err := sd.Owner()
	if err != nil {
		return "", "", fmt.Errorf("reading its owner: %w", err)
	}
	if o != nil && !trusted(o) {
		owner = o.String()
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return "", "", fmt.Errorf("reading its access control list: %w", err)
	}
	if dacl == nil {
		return owner, "everyone (it has no access control list)", nil
	}
	var names []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return "", "", fmt.Errorf("reading its access control list: %w", err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 || ace.Mask&mask == 0 {
			continue
		}
		if sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)); !trusted(sid) {
			names = append(names, sid.String())
		}
	}
	return owner, strings.Join(names, ", "), nil
}
