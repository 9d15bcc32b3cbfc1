"""EIP-1559 fees of the relayer's transactions, their replacement, and the profit of a request.

Pure arithmetic on integers (wei), no node: the service feeds in the base fee it read.

- First send: tip = the configured priority fee, maxFee = 2 × base fee + tip (room for six
  full blocks of base-fee growth), both capped by the configured maximum.
- Replacement (same nonce): at least +12.5% on BOTH fields (nodes want +10%; rounding up
  and the margin keep us clear of it), raised further to what a first send would pay now;
  never above the cap: when +12.5% would pass it, there is no replacement.
- Profit: the contract pays min(gas used, fulfilOverhead + callbackGasLimit) ×
  min(gas price, request's maxFeePerGas) + protocol fee (capped by the escrow); the relayer
  pays gas used × gas price. A request whose payment does not cover its gas cost at the
  current base fee is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

BUMP_NUMERATOR, BUMP_DENOMINATOR = 1125, 1000  # +12.5%


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def effective_price(self, base_fee: int) -> int:
        """What one gas costs in a block with this base fee (the transaction's gas price)."""
        return min(self.max_fee_per_gas, base_fee + self.max_priority_fee_per_gas)


def _bumped(value: int) -> int:
    return -(-value * BUMP_NUMERATOR // BUMP_DENOMINATOR)  # ceil(value × 1.125)


@dataclass(frozen=True, kw_only=True)
class FeePolicy:
    priority_fee_per_gas: int
    max_fee_per_gas_cap: int

    def initial(self, base_fee: int) -> Fees:
        """Fees of a first send when the next block's base fee is about `base_fee`."""
        tip = min(self.priority_fee_per_gas, self.max_fee_per_gas_cap)
        max_fee = min(2 * base_fee + tip, self.max_fee_per_gas_cap)
        return Fees(max_fee, tip)

    def replacement(self, previous: Fees, base_fee: int) -> Fees | None:
        """Fees replacing `previous` at the same nonce, or None when the cap forbids it."""
        now = self.initial(base_fee)
        tip = max(_bumped(previous.max_priority_fee_per_gas), now.max_priority_fee_per_gas)
        max_fee = max(_bumped(previous.max_fee_per_gas), now.max_fee_per_gas, tip)
        if max_fee > self.max_fee_per_gas_cap:
            return None
        return Fees(max_fee, tip)


@dataclass(frozen=True, kw_only=True)
class Profit:
    payment: int  # what the contract would pay the fulfiller
    gas_cost: int  # what the fulfilment's gas would cost the fulfiller

    @property
    def net(self) -> int:
        return self.payment - self.gas_cost


def expected_profit(
    *,
    gas: int,
    base_fee: int,
    fees: Fees,
    request_max_fee_per_gas: int,
    gas_budget: int,
    protocol_fee: int,
    escrow: int,
) -> Profit:
    """Payment and gas cost of fulfilling with `gas` gas at `base_fee` (module docstring)."""
    price = fees.effective_price(base_fee)
    charged = min(gas, gas_budget)
    payment = min(charged * min(price, request_max_fee_per_gas) + protocol_fee, escrow)
    return Profit(payment=payment, gas_cost=gas * price)
