"""Fees of the relayer's transactions: first send, replacement (+12.5% on both fields, capped),
and the profit of fulfilling a request (coprocessor/relayer/fees.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coprocessor.relayer.fees import FeePolicy, Fees, expected_profit

GWEI = 10**9
POLICY = FeePolicy(priority_fee_per_gas=1 * GWEI, max_fee_per_gas_cap=100 * GWEI)


def test_first_send_pays_twice_the_base_fee_plus_the_tip_within_the_cap():
    assert POLICY.initial(10 * GWEI) == Fees(21 * GWEI, 1 * GWEI)
    assert POLICY.initial(80 * GWEI) == Fees(100 * GWEI, 1 * GWEI)  # capped


@given(
    max_fee=st.integers(1, 50 * GWEI),
    tip=st.integers(0, 50 * GWEI),
    base_fee=st.integers(0, 40 * GWEI),
)
def test_a_replacement_bumps_both_fields_by_at_least_an_eighth(max_fee, tip, base_fee):
    previous = Fees(max(max_fee, tip), tip)
    replacement = POLICY.replacement(previous, base_fee)
    if replacement is None:  # only when +12.5% would pass the cap
        assert previous.max_fee_per_gas * 1125 > POLICY.max_fee_per_gas_cap * 1000
        return
    assert replacement.max_fee_per_gas * 1000 >= previous.max_fee_per_gas * 1125
    assert replacement.max_priority_fee_per_gas * 1000 >= previous.max_priority_fee_per_gas * 1125
    assert replacement.max_priority_fee_per_gas <= replacement.max_fee_per_gas
    assert replacement.max_fee_per_gas <= POLICY.max_fee_per_gas_cap
    # never below what a first send would pay now
    assert replacement.max_fee_per_gas >= POLICY.initial(base_fee).max_fee_per_gas


def test_a_replacement_follows_a_jump_of_the_base_fee():
    assert POLICY.replacement(Fees(3 * GWEI, 1 * GWEI), 40 * GWEI) == Fees(81 * GWEI, 1_125_000_000)


def test_no_replacement_past_the_cap():
    assert POLICY.replacement(Fees(90 * GWEI, 1 * GWEI), 1 * GWEI) is None


@pytest.mark.parametrize(
    ("request_max_fee", "protocol_fee", "profitable"),
    [(50 * GWEI, 10**15, True), (1, 0, False), (1, 10**15, True), (2 * GWEI, 0, False)],
)
def test_profit_is_payment_minus_gas_cost(request_max_fee, protocol_fee, profitable):
    fees = Fees(10 * GWEI, 1 * GWEI)
    profit = expected_profit(
        gas=150_000,
        base_fee=4 * GWEI,
        fees=fees,
        request_max_fee_per_gas=request_max_fee,
        gas_budget=400_000,
        protocol_fee=protocol_fee,
        escrow=10**18,
    )
    price = 5 * GWEI  # base fee + tip, under the max fee
    assert profit.gas_cost == 150_000 * price
    assert profit.payment == 150_000 * min(price, request_max_fee) + protocol_fee
    assert (profit.net >= 0) is profitable


def test_payment_is_capped_by_gas_budget_and_escrow():
    fees = Fees(10 * GWEI, 1 * GWEI)
    common = dict(base_fee=0, fees=fees, request_max_fee_per_gas=GWEI, protocol_fee=5)
    assert (
        expected_profit(gas=500, gas_budget=100, escrow=10**18, **common).payment == 100 * GWEI + 5
    )
    assert expected_profit(gas=500, gas_budget=1_000, escrow=7, **common).payment == 7
