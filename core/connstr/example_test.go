package connstr_test

import (
	"fmt"

	"github.com/lakelink/lakelink/core/connstr"
)

func ExampleParse() {
	o, err := connstr.Parse("server=db.example; port=5432; User=me; Password='it''s;secret'; sslmode=VERIFY-FULL")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.Port, o.SSLMode)
	fmt.Println(o)

	_, err = connstr.Parse("Server=db.example;Prot=5432")
	fmt.Println(err)
	// Output:
	// 5432 verify-full
	// Server=db.example;Port=5432;User=me;Password=***;SSLMode=verify-full
	// connection string: unknown key "Prot"; did you mean "Port"?
}

func ExampleOptions_Set() {
	o, _ := connstr.Parse("Server=db.example;Port=5432")
	if err := o.Set("port", "5433"); err != nil {
		fmt.Println(err)
	}
	fmt.Println(o.Set("Port", "none"))
	fmt.Println(o)
	// Output:
	// connection string: key "Port": "none" is not a whole number between 1 and 65535
	// Server=db.example;Port=5433
}
