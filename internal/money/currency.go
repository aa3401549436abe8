package money

import (
	"strings"
	"sync"

	"golang.org/x/text/currency"
)

// Currency is an ISO 4217 currency that is legal tender somewhere, with the
// exponent of its minor unit as Stripe counts it. Currencies are comparable
// with ==.
//
// The zero Currency is deliberately invalid: it stands for "no currency
// given", so a forgotten field is caught by every operation that takes an
// Amount instead of being read as some default currency.
type Currency struct {
	// code is the upper-case ISO 4217 code; "" is the zero Currency, which
	// ParseCurrency never returns.
	code string
}

// stripeSupplement lists the codes Stripe accepts that the library's CLDR 32
// data (2017) does not know as legal tender, so that ParseCurrency accepts
// what Stripe sends. Each is two-decimal on Stripe's API, as every currency
// outside the zero- and three-decimal lists is.
//
//   - SLE: Sierra Leone's redenominated leone (2022), which replaced SLL.
//   - XCG: the Caribbean guilder of Curaçao and Sint Maarten (2025), which
//     replaced ANG.
//   - STD: São Tomé and Príncipe's dobra. ISO 4217 replaced it with STN in
//     2018, which the library has, but Stripe still lists the old code.
//
// Codes newer than the library that Stripe does not list, such as MRU, VES
// and ZWG, stay rejected: Tender cannot charge in them anyway. The list was
// checked in 2026 against copies of Stripe's "Supported currencies" guide;
// add to it when Stripe adds a currency the library lacks.
var stripeSupplement = []string{"SLE", "STD", "XCG"}

// tender is the set of codes accepted by ParseCurrency: every currency the
// library lists as legal tender in some region, plus stripeSupplement. The
// library supplies only this set; exponents come from Stripe's lists (see
// Exponent). That leaves out what x/text knows but no one can be charged in:
// precious metals (XAU), fund and accounting codes (XDR, USN, CLF), the test
// code XTS, XXX, and withdrawn currencies (DEM).
var tender = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	for it := currency.Query(); it.Next(); {
		m[it.Unit().String()] = true
	}
	for _, code := range stripeSupplement {
		m[code] = true
	}
	return m
})

// ParseCurrency returns the Currency for a three-letter ISO 4217 code in any
// letter case, since Stripe sends lower case ("usd") and people write upper
// case. It returns an ErrInvalid *FieldError naming the code if the code is
// malformed, unknown, or not legal tender.
//
// The codes accepted are those golang.org/x/text/currency lists as legal
// tender, from CLDR 32 (2017), plus SLE, STD and XCG, which Stripe supports
// and the library lacks. Codes introduced since that Stripe does not support,
// such as MRU, VES and ZWG, are rejected as unknown, and a few since
// withdrawn, such as HRK, are still accepted.
func ParseCurrency(code string) (Currency, error) {
	if len(code) != 3 || !isASCIILetters(code) {
		return Currency{}, invalid("currency", code, "not a three-letter ISO 4217 code")
	}
	up := strings.ToUpper(code)
	if !tender()[up] {
		return Currency{}, invalid("currency", code, "unknown currency")
	}
	return Currency{code: up}, nil
}

// stripeCharges lists the currencies Stripe takes card payments in: the
// "Supported presentment currencies" of its "Supported currencies" guide
// (https://docs.stripe.com/currencies, read in copies in December 2026),
// as it shows them for an account in the United States or the European
// Union (the list depends on the account's country), and XCG, ANG's
// successor, which later lists derived from it carry. Legal tender it
// leaves out (HRK, IQD, IRR, ...) and the three-decimal currencies, which
// have API support but are not presentment currencies there, cannot be
// charged. The emulator keeps the same list as data (emulator/currency.go);
// a test there checks that the two agree.
var stripeCharges = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	for code := range strings.FieldsSeq(`USD AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BIF BMD BND BOB BRL
		BSD BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GNF GTQ
		GYD HKD HNL HTG HUF IDR ILS INR ISK JMD JPY KES KGS KHR KMF KRW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK
		MNT MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD
		SCR SEK SGD SHP SLE SOS SRD STD SZL THB TJS TOP TRY TTD TWD TZS UAH UGX UYU UZS VND VUV WST XAF XCD XCG XOF XPF
		YER ZAR ZMW`) {
		m[code] = true
	}
	return m
})

// ParseChargeCurrency is ParseCurrency for the currency of a charge: it
// also refuses, with an ErrInvalid *FieldError naming the code, a currency
// Stripe takes no card payments in (see stripeCharges), so that a payment
// in it is refused when it is asked for rather than by Stripe later.
func ParseChargeCurrency(code string) (Currency, error) {
	c, err := ParseCurrency(code)
	if err != nil {
		return c, err
	}
	if !stripeCharges()[c.code] {
		return Currency{}, invalid("currency", code, "Stripe takes no card payments in %s", c.code)
	}
	return c, nil
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
func (c Currency) IsZero() bool { return c.code == "" }

// Code returns the upper-case ISO 4217 code, such as "EUR", or "" for the
// zero Currency.
func (c Currency) Code() string { return c.code }

// Lower returns the lower-case code, such as "eur", which is the form Stripe
// requires in requests and sends in its objects.
func (c Currency) Lower() string { return strings.ToLower(c.code) }

// String returns Code, or "(no currency)" for the zero Currency so that it
// is visible in logs.
func (c Currency) String() string {
	if c.IsZero() {
		return "(no currency)"
	}
	return c.code
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

// Exponent returns the number of decimal digits of c's minor unit as
// Stripe's API counts it: 2 for EUR (cents), 0 for JPY, 3 for BHD (fils).
// An Amount's Value counts units of 10^-Exponent, so it is exactly the
// integer Stripe's "amount" fields carry, in both directions, with no
// conversion to forget. It returns 0 for the zero Currency.
//
// Stripe's "Supported currencies" guide says:
//
//   - Amounts are integers in the currency's smallest unit, and currency codes
//     are sent in lower case.
//   - Zero-decimal currencies (exponent 0): BIF, CLP, DJF, GNF, JPY, KMF, KRW,
//     MGA, PYG, RWF, UGX, VND, VUV, XAF, XOF, XPF.
//   - Three-decimal currencies (exponent 3): BHD, JOD, KWD, OMR, TND. Stripe
//     asks that the last of the three digits be 0, because its payment
//     partners settle these to two decimals.
//   - Every other currency is two-decimal (exponent 2).
//
// This is not always ISO 4217's minor unit, nor the digits CLDR (and so
// golang.org/x/text/currency) gives: IDR, COP, PKR and about twenty others
// have 0 digits in CLDR and 2 here, IQD and LYD have 3 in ISO 4217 and 2
// here, and ISK has 0 in both and 2 here. Tender shows and parses amounts
// with this exponent too ("12.00" IDR), so a price someone types is the
// amount Stripe charges. Legal tender that Stripe does not list (IQD, IRR,
// KPW, LYD, ...) gets 2 by the same rule; Tender can record such amounts
// but Stripe will refuse to move them.
//
// Stripe's "special cases", which this package does not enforce because the
// rules depend on the operation rather than the amount:
//
//   - ISK is zero-decimal in practice but, for backward compatibility, Stripe
//     takes it as two-decimal with the last two digits 00 (500 ISK is 50000).
//   - HUF and TWD are two-decimal for charges, but payouts are zero-decimal:
//     payout amounts must be multiples of 100.
//   - UGX appears both among the zero-decimal currencies and among the special
//     cases; check the guide before paying out UGX.
//
// The zero- and three-decimal lists were checked in 2026 against copies of
// the guide; the special cases are summarised from it and worth re-reading
// there before relying on them. The lists are kept here, not derived, because
// Stripe's API is the authority for its wire format, not ISO 4217 or CLDR.
func (c Currency) Exponent() int {
	switch {
	case c.code == "":
		return 0
	case stripeZeroDecimal[c.code]:
		return 0
	case stripeThreeDecimal[c.code]:
		return 3
	default:
		return 2
	}
}
