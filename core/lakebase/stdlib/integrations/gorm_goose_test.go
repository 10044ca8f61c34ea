package integrations

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/core/lakebase/stdlib"
)

// Item is the row of the migrations' items table, for GORM.
type Item struct {
	ID        int64
	Name      string
	Price     string `gorm:"type:numeric(12,2)"`
	SKU       *string
	CreatedAt time.Time
}

// openDB opens a *sql.DB through lakelink's driver whose sessions are
// replaced every 300 ms, so that new ones log in all through a test.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	o, err := connstr.Parse(connString("ApplicationName=integrations"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &lakebase.Config{}
	t.Cleanup(cfg.Close)
	db, err := stdlib.OpenDB(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetConnMaxLifetime(300 * time.Millisecond)
	return db
}

// TestGooseAndGORMAcrossExpiry: goose migrates a database through
// lakelink's driver, then GORM, over the same *sql.DB, creates, reads,
// updates and deletes rows, in transactions too, for longer than two
// credential lifetimes; goose then migrates back down.
func TestGooseAndGORMAcrossExpiry(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	migrations, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("testdata/migrations"))
	if err != nil {
		t.Fatal(err)
	}
	results, err := migrations.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d migrations applied, want 2", len(results))
	}
	t.Cleanup(func() {
		if _, err := migrations.DownTo(ctx, 0); err != nil {
			t.Error(err)
		}
	})

	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: db}), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	before := testEmulator.Stats()
	deadline := time.Now().Add(2*testTTL + time.Second)
	n := 0
	for ; time.Now().Before(deadline); n++ {
		sku := "sku-" + time.Now().Format("150405.000000")
		item := Item{Name: "widget", Price: "19.99", SKU: &sku}
		if err := gdb.Create(&item).Error; err != nil {
			t.Fatalf("create %d: %v", n, err)
		}
		err := gdb.Transaction(func(tx *gorm.DB) error {
			var got Item
			if err := tx.First(&got, item.ID).Error; err != nil {
				return err
			}
			if got.Name != "widget" || got.Price != "19.99" || *got.SKU != sku {
				t.Errorf("read back %+v", got)
			}
			return tx.Model(&got).Update("price", "20.50").Error
		})
		if err != nil {
			t.Fatalf("transaction %d: %v", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var count int64
	var total string
	if err := gdb.Model(&Item{}).Count(&count).Error; err != nil || count != int64(n) {
		t.Fatalf("count %d, want %d: %v", count, n, err)
	}
	if err := gdb.Model(&Item{}).Select("sum(price)::text").Scan(&total).Error; err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%.2f", 20.5*float64(n)); total != want {
		t.Errorf("sum %s, want %s", total, want)
	}
	if err := gdb.Where("price > ?", 20).Delete(&Item{}).Error; err != nil {
		t.Fatal(err)
	}
	after := testEmulator.Stats()
	if d := after.CredentialsIssued - before.CredentialsIssued; d < 2 {
		t.Errorf("%d credentials minted over two lifetimes, want 2 or more", d)
	}
	// A login may still be refused, on a loaded machine, with a credential
	// that expired on its way (it is renewed in the last quarter of its 3 s):
	// the driver then renews it and logs in again, which no query sees.
	t.Logf("%d logins refused and tried again", after.GatewayLogins.Refused-before.GatewayLogins.Refused)
}
