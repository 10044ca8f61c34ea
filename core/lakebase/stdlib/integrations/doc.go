// Package integrations tests lakelink's database/sql driver (package
// stdlib) and lakebase.ConfigurePool under the libraries Go services use
// on them: GORM (gorm.io/driver/postgres over an existing *sql.DB) and
// goose migrations, against the emulator with credentials that expire in
// seconds.
//
// It is a module of its own so that these libraries, and the many modules
// their go.mod files require (goose's lists every database it supports),
// stay out of lakelink's go.mod and go.sum: a program that imports
// lakelink does not see them, and their requirements do not raise the
// versions lakelink builds with. `make test` runs it
// (`cd core/lakebase/stdlib/integrations && go test ./...`).
package integrations
