package emulator

import (
	"fmt"
	"strings"
)

// Stripe's currency rules, as data. The source is Stripe's "Supported
// currencies" guide, https://docs.stripe.com/currencies, read in December
// 2026 in copies of the page (its rendered list of presentment currencies
// for card payments, and its markdown, currencies.md, for the minimums)
// found with the search tool; re-read it there before changing a row.
// Stripe's answer to a currency outside the list, "Invalid currency: zzz.
// Stripe currently supports these currencies: usd, aed, …" on param
// currency, is as reported in lukec/stripe-perl#156.

// chargeCurrencies are the currencies a card payment can be made in, in
// the guide's order (usd first, then by code). The guide's list depends on
// the account's country; this is the one it shows for an account in the
// United States or the European Union. XCG, which replaced ANG in 2025, is
// not yet on the copy read but is on later lists derived from it (such as
// WooPayments'), and Tender's money package accepts it, so it is kept. The
// three-decimal currencies (bhd, jod, kwd, omr, tnd) have API support but
// are not presentment currencies there, and so are refused, as Stripe
// refuses tnd to a US account.
var chargeCurrencies = []string{
	"usd", "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bif",
	"bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop", "crc", "cve",
	"czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq",
	"gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jpy", "kes", "kgs", "khr", "kmf", "krw",
	"kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mur", "mvr",
	"mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "pab", "pen", "pgk", "php", "pkr", "pln",
	"pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std",
	"szl", "thb", "tjs", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "uyu", "uzs", "vnd", "vuv", "wst", "xaf",
	"xcd", "xcg", "xof", "xpf", "yer", "zar", "zmw",
}

// zeroDecimal are the guide's zero-decimal currencies: their amounts count
// whole units (amount 50 in jpy is ¥50). threeDecimal count thousandths.
// Every other currency counts hundredths.
var (
	zeroDecimal = setOf("bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf")

	threeDecimal = setOf("bhd", "jod", "kwd", "omr", "tnd")
)

// minimumCharge is the smallest amount Stripe charges in a settlement
// currency: Amount in the currency's minor units (for zero-decimal jpy,
// whole yen), and Shown as the guide writes it, which is how Stripe's
// amount_too_small message shows it ("Amount must be at least $0.50 usd").
type minimumCharge struct {
	Amount int64
	Shown  string
}

// minimumCharges is the guide's table of minimum charge amounts by
// settlement currency. Stripe applies the settlement currency's minimum to
// a charge converted into it; the emulator converts nothing, so a charge
// in one of these currencies must meet its own minimum, and a charge in a
// currency without a row here only has to be positive.
var minimumCharges = map[string]minimumCharge{
	"usd": {50, "$0.50"},
	"aed": {200, "2.00 د.إ"},
	"aud": {50, "$0.50"},
	"bgn": {100, "лв1.00"},
	"brl": {50, "R$0.50"},
	"cad": {50, "$0.50"},
	"chf": {50, "0.50 Fr"},
	"czk": {1500, "15.00Kč"},
	"dkk": {250, "2.50-kr."},
	"eur": {50, "€0.50"},
	"gbp": {30, "£0.30"},
	"hkd": {400, "$4.00"},
	"huf": {17500, "175.00 Ft"}, // two-decimal for charges (the guide's special cases)
	"inr": {50, "₹0.50"},
	"jpy": {50, "¥50"}, // zero-decimal
	"mxn": {1000, "$10"},
	"myr": {200, "RM 2"},
	"nok": {300, "3.00-kr."},
	"nzd": {50, "$0.50"},
	"pln": {200, "2.00 zł"},
	"ron": {200, "lei2.00"},
	"sek": {300, "3.00-kr."},
	"sgd": {50, "$0.50"},
	"thb": {1000, "฿10"},
}

var chargeCurrencySet = setOf(chargeCurrencies...)

// checkChargeCurrency refuses a currency Stripe takes no card payments in,
// as Stripe does: 400 invalid_request_error on param (currency), naming
// the currencies it supports. Codes are compared in lower case, as Stripe
// accepts either.
func checkChargeCurrency(param, currency string) *Error {
	if chargeCurrencySet[strings.ToLower(currency)] {
		return nil
	}
	return invalidRequest(param, "Invalid currency: %s. Stripe currently supports these currencies: %s",
		strings.ToLower(currency), strings.Join(chargeCurrencies, ", "))
}

// checkChargeAmount refuses an amount below the currency's minimum charge
// with Stripe's amount_too_small on param amount, and one not positive in
// a currency without a minimum; the currency has passed
// checkChargeCurrency.
func checkChargeAmount(amount int64, currency string) *Error {
	if m, ok := minimumCharges[currency]; ok && amount < m.Amount {
		return invalidRequestCode("amount_too_small", "amount", "Amount must be at least %s %s", m.Shown, currency)
	}
	if amount < 1 {
		return invalidRequest("amount", "Invalid positive integer")
	}
	return nil
}

// exponent is the number of decimal digits of a currency's minor unit on
// Stripe's API.
func exponent(currency string) int {
	switch {
	case zeroDecimal[currency]:
		return 0
	case threeDecimal[currency]:
		return 3
	}
	return 2
}

// formatAmount shows an amount in minor units in its currency's major
// unit, for the emulator's pages only: integer arithmetic, Stripe's
// exponents.
func formatAmount(amount int64, currency string) string {
	cur := strings.ToUpper(currency)
	switch exponent(currency) {
	case 0:
		return fmt.Sprintf("%d %s", amount, cur)
	case 3:
		return fmt.Sprintf("%d.%03d %s", amount/1000, amount%1000, cur)
	}
	return fmt.Sprintf("%d.%02d %s", amount/100, amount%100, cur)
}
