package auth

import (
	"io"
	"os"
	"os/exec"
)

// openBrowser runs %BROWSER% (a program, given the URL as its argument),
// else the URL's default handler through url.dll's FileProtocolHandler,
// which, unlike `cmd /c start`, passes the URL on unparsed (cmd would
// split it at its & characters). It does not wait for the browser.
func openBrowser(target string) error {
	cmd := exec.Command("rundll32", "url.dll,FileProtocolHandler", target)
	if b := os.Getenv("BROWSER"); b != "" {
		cmd = exec.Command(b, target)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
