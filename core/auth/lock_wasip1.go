//go:build wasip1

package auth

import (
	"os"
	"sync"
)

// fileLock serialises token store updates within the module instance.
// WASI preview 1 has no file locks, and an instance is one process of its
// own: a file store shared with other processes is not protected against
// them there. A WASI host should use OAuthSettingsLocation=memory://NAME.
var fileLock sync.Mutex

// lockFile takes the instance-wide lock; f is not locked.
func lockFile(*os.File) (unlock func(), err error) {
	fileLock.Lock()
	return fileLock.Unlock, nil
}
