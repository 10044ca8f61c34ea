package apps_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/lakelink/lakelink/core/apps"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// A service principal calls an app's /api/ route with its OAuth client id
// and secret, and prints the diagnosis when the call fails.
func Example() {
	tokens := (&clientcredentials.Config{
		ClientID:     os.Getenv("DATABRICKS_CLIENT_ID"),
		ClientSecret: os.Getenv("DATABRICKS_CLIENT_SECRET"),
		TokenURL:     os.Getenv("DATABRICKS_HOST") + "/oidc/v1/token",
		Scopes:       []string{"all-apis"},
		AuthStyle:    oauth2.AuthStyleInHeader,
	}).TokenSource(context.Background())

	app, err := apps.New("https://my-app-1234567890123456.aws.databricksapps.com", tokens)
	if err != nil {
		log.Fatal(err) // names what is wrong with the URL
	}
	resp, err := app.Get(context.Background(), "/api/whoami")
	var appErr *apps.Error
	switch {
	case errors.As(err, &appErr):
		fmt.Println("kind:", appErr.Kind)               // for programs: "forbidden", "network", …
		fmt.Println("what to check:", appErr.Diagnosis) // for people
	case err != nil:
		log.Fatal(err) // the token source failed
	default:
		fmt.Printf("%d %s\n", resp.Status, resp.Body)
	}
}

// Client streams a large answer; it refuses any route outside /api/ and
// any other host, and shows redirects instead of following them.
func ExampleApp_Client() {
	app, err := apps.New("https://my-app-1234567890123456.aws.databricksapps.com",
		oauth2.StaticTokenSource(&oauth2.Token{AccessToken: os.Getenv("DATABRICKS_TOKEN")}))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := app.Client().Get(app.URL() + "/api/export")
	if err != nil {
		log.Fatal(err) // errors.As finds an *apps.Error for refused requests
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
}

// An app with user authorization on calls another app as the signed-in
// user: with the token the platform forwarded in the user's request, so
// that the other app sees the user, with the scopes the user granted.
// (Workspace APIs as the user: databricks-sdk-go's config.Config with
// Host and Token set to the same token.)
func ExampleUserToken() {
	reports, err := apps.New("https://reports-1234567890123456.aws.databricksapps.com",
		oauth2.StaticTokenSource(&oauth2.Token{AccessToken: os.Getenv("DATABRICKS_TOKEN")}))
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/api/summary", func(w http.ResponseWriter, r *http.Request) {
		token, err := apps.UserToken(r)
		if err != nil { // ErrNoUserToken names the setting to turn on
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		asUser, err := reports.AsUser(token)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := asUser.Get(r.Context(), "/api/summary")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Write(resp.Body)
	})
}
