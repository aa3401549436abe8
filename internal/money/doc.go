// Package money holds Tender's amounts: int64 counts of a currency's minor
// unit (cents, yen, fils) tagged with an ISO 4217 currency, and the integer
// arithmetic that moves them: decimal parsing and formatting, application
// fees, proportional splits and fee gross-ups.
//
// No float64 appears anywhere in this package. Money in binary floating point
// cannot represent 0.10 exactly, and a rounding slip of one cent per charge is
// a reconciliation failure at the end of the month. Every rounding that does
// happen is written down next to the code that does it.
//
// # Minor units are Stripe's
//
// A Currency's exponent (the number of fraction digits of its minor unit) is
// the one Stripe's API uses, so an Amount's Value is exactly the integer sent
// in, and read from, Stripe's "amount" fields, and is stored, shown and
// parsed with the same exponent. Nearly every amount Tender handles goes to or
// comes from Stripe, and a second unit would need a conversion at every
// crossing; one forgotten conversion charges a hundred times too little.
//
// Stripe's exponents are 0 for its zero-decimal list (JPY, KRW, ...), 3 for
// its three-decimal list (BHD, JOD, KWD, OMR, TND) and 2 for everything else,
// including currencies where ISO 4217 or CLDR differ: IDR and COP (CLDR: 0),
// ISK (ISO and CLDR: 0) and IQD (ISO: 3). See [Currency.Exponent] for the
// lists, their source and Stripe's special cases.
//
// golang.org/x/text/currency supplies only the set of valid codes (those it
// lists as legal tender, from CLDR 32), never an exponent; a short, documented
// supplement adds the codes Stripe supports that the library's 2017 data
// lacks (see [ParseCurrency]).
package money
