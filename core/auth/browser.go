//go:build !windows

package auth

import (
	"io"
	"os"
	"os/exec"
	"runtime"
)

// openBrowser runs $BROWSER with the URL (through sh), else open on macOS
// and xdg-open elsewhere. It does not wait for the browser.
func openBrowser(target string) error {
	var cmd *exec.Cmd
	switch {
	case os.Getenv("BROWSER") != "":
		cmd = exec.Command("sh", "-c", os.Getenv("BROWSER")+` "$1"`, "browser", target)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", target)
	default:
		cmd = exec.Command("xdg-open", target)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
