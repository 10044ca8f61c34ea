package auth

import (
	"io"
	"os"
	"os/exec"
	"runtime"
)

// openBrowser runs $BROWSER with the URL, else xdg-open, open or the
// Windows opener. It does not wait for the browser.
func openBrowser(target string) error {
	var cmd *exec.Cmd
	switch {
	case os.Getenv("BROWSER") != "":
		cmd = exec.Command("sh", "-c", os.Getenv("BROWSER")+` "$1"`, "browser", target)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", target)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", target)
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
