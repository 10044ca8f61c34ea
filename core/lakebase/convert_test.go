package lakebase

import (
	"math/big"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestNumericText(t *testing.T) {
	cases := []struct {
		n    pgtype.Numeric
		want string
	}{
		{pgtype.Numeric{Int: big.NewInt(150), Exp: -2, Valid: true}, "1.50"},
		{pgtype.Numeric{Int: big.NewInt(-150), Exp: -2, Valid: true}, "-1.50"},
		{pgtype.Numeric{Int: big.NewInt(5), Exp: -3, Valid: true}, "0.005"},
		{pgtype.Numeric{Int: big.NewInt(-5), Exp: -3, Valid: true}, "-0.005"},
		{pgtype.Numeric{Int: big.NewInt(0), Exp: -2, Valid: true}, "0.00"},
		{pgtype.Numeric{Int: big.NewInt(12), Exp: 3, Valid: true}, "12000"},
		{pgtype.Numeric{Int: big.NewInt(0), Exp: 3, Valid: true}, "0"},
		{pgtype.Numeric{Exp: 0, Valid: true}, "0"},
		{pgtype.Numeric{NaN: true, Valid: true}, "NaN"},
		{pgtype.Numeric{InfinityModifier: pgtype.Infinity, Valid: true}, "Infinity"},
		{pgtype.Numeric{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, "-Infinity"},
	}
	long, _ := new(big.Int).SetString("-1234567890123456789012345678901234567890", 10)
	cases = append(cases, struct {
		n    pgtype.Numeric
		want string
	}{pgtype.Numeric{Int: long, Exp: -45, Valid: true}, "-0.000001234567890123456789012345678901234567890"})
	for _, c := range cases {
		got, err := appendNumeric([]byte("x"), c.n)
		if err != nil || string(got) != "x"+c.want {
			t.Errorf("%+v: %q %v, want %q", c.n, got, err, c.want)
		}
	}
}
