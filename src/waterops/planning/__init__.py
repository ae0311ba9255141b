"""Leakage, non-revenue water and pipe-renewal planning: IWA water balance, CJJ 92-2016,
break-rate models, HiGHS renewal plans (no web, no database)."""
