package money

import (
	"strings"
	"sync"

	"golang.org/x/text/currency"
)

// Currency is an ISO 4217 currency that is legal tender somewhere, with the
// exponent of its minor unit. Currencies are comparable with ==.
//
// The zero Currency is deliberately invalid: it stands for "no currency
// given", so a forgotten field is caught by every operation that takes an
// Amount instead of being read as some default currency.
type Currency struct {
	// unit's zero value is x/text's XXX ("no currency"), which ParseCurrency
	// rejects, so the zero Currency cannot be confused with a parsed one.
	unit currency.Unit
}

// tender is the set of codes accepted by ParseCurrency: every currency the
// library lists as legal tender in some region. That leaves out what x/text
// knows but no one can be charged in: precious metals (XAU), fund and
// accounting codes (XDR, USN, CLF), the test code XTS, XXX, and withdrawn
// currencies (DEM, STD). For the metals and fund codes the library reports a
// default exponent of 2 where ISO 4217 has none, another reason to refuse them.
var tender = sync.OnceValue(func() map[currency.Unit]bool {
	m := make(map[currency.Unit]bool)
	for it := currency.Query(); it.Next(); {
		m[it.Unit()] = true
	}
	return m
})

// ParseCurrency returns the Currency for a three-letter ISO 4217 code in any
// letter case, since Stripe sends lower case ("usd") and people write upper
// case. It returns an ErrInvalid *FieldError naming the code if the code is
// malformed, unknown to the library, or not legal tender.
//
// The library's data is CLDR 32 (2017): codes introduced since, such as MRU,
// VES, SLE, ZWG and XCG, are rejected as unknown, and a few since withdrawn,
// such as HRK, are still accepted.
func ParseCurrency(code string) (Currency, error) {
	if len(code) != 3 || !isASCIILetters(code) {
		return Currency{}, invalid("currency", code, "not a three-letter ISO 4217 code")
	}
	u, err := currency.ParseISO(code)
	if err != nil || !tender()[u] {
		return Currency{}, invalid("currency", code, "unknown currency")
	}
	return Currency{unit: u}, nil
}

// MustParseCurrency is ParseCurrency for codes fixed in source, such as tests
// and defaults; it panics on an error.
func MustParseCurrency(code string) Currency {
	c, err := ParseCurrency(code)
	if err != nil {
		panic(err)
	}
	return c
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// IsZero reports whether c is the zero Currency, that is, no currency.
func (c Currency) IsZero() bool { return c == Currency{} }

// Code returns the upper-case ISO 4217 code, such as "EUR", or "" for the
// zero Currency.
func (c Currency) Code() string {
	if c.IsZero() {
		return ""
	}
	return c.unit.String()
}

// Lower returns the lower-case code, such as "eur", which is the form Stripe
// requires in requests and sends in its objects.
func (c Currency) Lower() string { return strings.ToLower(c.Code()) }

// String returns Code, or "(no currency)" for the zero Currency so that it
// is visible in logs.
func (c Currency) String() string {
	if c.IsZero() {
		return "(no currency)"
	}
	return c.Code()
}

// Exponent returns the number of decimal digits of c's minor unit: 2 for EUR
// (cents), 0 for JPY, 3 for BHD (fils). An Amount's Value counts units of
// 10^-Exponent. It is CLDR's standard (non-cash) number of digits as shipped
// by golang.org/x/text/currency; it returns 0 for the zero Currency.
//
// CLDR's digits differ from ISO 4217's minor units for about twenty codes
// that are legal tender: CLDR says 0 for AFN, ALL, AMD, COP, GYD, IDR, IQD,
// IRR, ISK, KPW, LAK, LBP, MMK, MNT, MRO, MUR, PKR, RSD, SLL, SOS, SYP, TZS,
// UZS and YER, and ISO 4217 says 2 for all of them except ISK (0) and IQD (3).
// This package uses the library's value as it is and does not patch it; it is
// what Tender shows and parses. Amounts sent to or read from Stripe convert
// with [Amount.StripeAmount] and [FromStripe].
func (c Currency) Exponent() int {
	if c.IsZero() {
		return 0
	}
	scale, _ := currency.Standard.Rounding(c.unit)
	return scale
}

// Stripe's currency lists, from its "Supported currencies" guide. Every other
// currency Stripe supports is two-decimal on its API.
var (
	stripeZeroDecimal = map[string]bool{
		"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true,
		"KMF": true, "KRW": true, "MGA": true, "PYG": true, "RWF": true,
		"UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true,
		"XPF": true,
	}
	stripeThreeDecimal = map[string]bool{
		"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true,
	}
)

// StripeExponent returns the number of decimal digits Stripe's API uses for
// c's amounts, which is not always [Currency.Exponent]. Stripe's
// "Supported currencies" guide says:
//
//   - Amounts are integers in the currency's smallest unit, and currency codes
//     are sent in lower case.
//   - Zero-decimal currencies (exponent 0): BIF, CLP, DJF, GNF, JPY, KMF, KRW,
//     MGA, PYG, RWF, UGX, VND, VUV, XAF, XOF, XPF.
//   - Three-decimal currencies (exponent 3): BHD, JOD, KWD, OMR, TND. Stripe
//     asks that the last of the three digits be 0, because card networks
//     settle these to two decimals.
//   - Every other currency is two-decimal (exponent 2), including those CLDR
//     gives 0 digits, such as IDR and COP.
//
// Its "special cases" list, which this package does not enforce because the
// rules depend on the operation rather than the amount:
//
//   - ISK is zero-decimal in practice but, for backward compatibility, Stripe
//     takes it as two-decimal with the last two digits 00 (500 ISK is 50000).
//     StripeExponent returns 2 for it, and converting an Amount (exponent 0)
//     with StripeAmount always yields a multiple of 100.
//   - HUF and TWD are two-decimal for charges, but payouts are zero-decimal:
//     payout amounts must be multiples of 100. CLDR records the same thing
//     as their cash rounding.
//   - UGX appears both among the zero-decimal currencies and among the special
//     cases; check the guide before paying out UGX.
//
// The zero- and three-decimal lists were checked in 2026 against copies of
// the guide; the special cases are summarised from it and worth re-reading
// there before relying on them. The lists are kept here, not derived, because
// Stripe's API is the authority for its wire format, not ISO 4217 or CLDR.
func (c Currency) StripeExponent() int {
	code := c.Code()
	switch {
	case code == "":
		return 0
	case stripeZeroDecimal[code]:
		return 0
	case stripeThreeDecimal[code]:
		return 3
	default:
		return 2
	}
}
