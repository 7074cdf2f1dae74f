"""ISO 4217 currency codes: the currencies and funds in use (not the precious metals, the bond
market units, nor the codes for testing and for "no currency")."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator

_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN
    BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK
    DJF DKK DOP DZD
    EGP ERN ETB EUR
    FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD
    HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK
    JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN
    NAD NGN NIO NOK NPR NZD
    OMR
    PAB PEN PGK PHP PKR PLN PYG
    QAR
    RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
    THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD USN UYI UYU UYW UZS
    VED VES VND VUV
    WST
    XAF XCD XCG XDR XOF XPF XSU XUA
    YER
    ZAR ZMW ZWG ZWL
"""

ISO_4217: frozenset[str] = frozenset(_CODES.split())


def is_currency(code: str) -> bool:
    return code in ISO_4217


# As a type, so that the contract lists the codes (an enum of strings).
_CurrencyEnum = StrEnum("CurrencyCode", {code: code for code in sorted(ISO_4217)})  # type: ignore[misc]


def _known(value: object) -> object:
    """One short message for an unknown code, rather than the list of them all."""
    if not isinstance(value, str) or not is_currency(value):
        raise ValueError("Not an ISO 4217 currency code (upper case)")
    return value


CurrencyCode = Annotated[_CurrencyEnum, BeforeValidator(_known)]
