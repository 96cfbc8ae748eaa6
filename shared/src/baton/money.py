"""Money on the wire: a decimal amount in cents and its ISO 4217 currency, never a float.

JSON carries amounts as strings ("1250.00"), so no client's floating point rounds
them; conversions multiply by a stored decimal rate and round half-even to cents.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

CENT = Decimal("0.01")
# Up to 999,999,999,999.99: wide enough for any programme, narrow enough for numeric(14, 2).
MAX_DIGITS = 14

# ISO 4217 alphabetic codes in use (and the fund and testing codes the standard keeps).
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS
    VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA
    XXX YER ZAR ZMW ZWG ZWL
    """.split()
)


def in_cents(amount: Decimal) -> Decimal:
    """The amount with exactly two places ("120.5" and "120.50" are one amount)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _known_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError("not an ISO 4217 currency code (upper case, e.g. 'EUR')")
    return code


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """`amount` times a stored exchange `rate`, rounded half-even to cents."""
    return in_cents(amount * rate)


Amount = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=MAX_DIGITS,
        decimal_places=2,
        allow_inf_nan=False,
        examples=["1250.00"],
    ),
    AfterValidator(in_cents),
]
Currency = Annotated[
    str,
    Field(min_length=3, max_length=3, description="ISO 4217, e.g. `EUR`", examples=["EUR"]),
    AfterValidator(_known_currency),
]
# An exchange rate: how many units of the target currency one unit of the source buys.
ExchangeRate = Annotated[
    Decimal,
    Field(gt=0, max_digits=18, decimal_places=8, allow_inf_nan=False, examples=["1.95583"]),
]
