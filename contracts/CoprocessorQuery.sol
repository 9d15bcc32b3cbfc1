// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IRiscZeroVerifier} from "./interfaces/IRiscZeroVerifier.sol";
import {IBlockHistory} from "./interfaces/IBlockHistory.sol";
import {ICoprocessorClient} from "./interfaces/ICoprocessorClient.sol";
import {CoprocessorJournal} from "./CoprocessorJournal.sol";

/// @notice On-chain delivery of proven SQL answers: a contract asks (`sendQuery`, paying into
/// escrow), anyone with a proof answers (`fulfill`), the answer goes to the asker's callback, the
/// fulfiller is paid for its gas plus the protocol fee and the rest of the escrow goes back.
///
/// Trust: the seal is checked by `verifier` (RISC Zero's verifier router on real networks) for
/// the pinned `queryImageId`; the journal's anchor is canonical here either by its block hash
/// (blockhash() or EIP-2935, when the journal's historyRoot is zero) or because the pinned
/// `blockHistory` once accepted the state whose root the guest proved the anchor in; the
/// journal's queryHash, params and chain id are checked against the request. The proof is the
/// only permission: fulfilment is open to anyone. See contracts/README.md for the rules.
contract CoprocessorQuery {
    /// @notice EIP-2935 block hash history contract: `get` takes a 32-byte block number and
    /// answers for the last HISTORY_SERVE_WINDOW blocks.
    address public constant BLOCK_HASH_HISTORY = 0x0000F90827F1C53a10cb7A02335B175320002935;
    uint256 public constant BLOCKHASH_WINDOW = 256;
    uint256 public constant HISTORY_SERVE_WINDOW = 8191;
    /// @notice Gas kept back for the callback's CALL itself (cold account access included) when
    /// checking that the callback can get exactly its gas limit (EIP-150's 63/64 rule).
    uint256 public constant CALLBACK_CALL_RESERVE = 5_000;
    /// @notice Intrinsic gas of a transaction, charged on top of the gas fulfill() meters.
    uint256 public constant TX_BASE_GAS = 21_000;
    /// @notice Calldata is charged as the EVM prices it: 16 gas per non-zero byte, 4 per zero byte
    /// (EIP-2028; EIP-7623's floor price applies only to transactions that execute little).
    uint256 public constant CALLDATA_GAS_PER_NONZERO_BYTE = 16;
    uint256 public constant CALLDATA_GAS_PER_ZERO_BYTE = 4;
    /// @notice fulfill()'s own execution outside the metered span (the dispatch before it starts,
    /// the payouts and the event after it stops) less the storage refund it earns; calibrated on
    /// anvil (tests/integration/test_contracts_anvil.py checks it stays within 5%).
    uint256 public constant UNMETERED_EXECUTION_GAS = 20_000;

    enum Status {
        None,
        Pending,
        Fulfilled,
        Refunded
    }

    struct Request {
        address refundee;
        uint64 deadline; // the refundee may take the escrow back once block.number > deadline
        Status status;
        address callback;
        uint32 callbackGasLimit;
        uint64 maxFeePerGas; // wei per gas
        uint256 escrow; // held for this request; 0 once paid out or refunded
        bytes32 queryHash;
        bytes32 paramsHash; // keccak256 of the request's params
        bytes extraData;
    }

    IRiscZeroVerifier public immutable verifier;
    /// @notice Image ID of the query guest whose journals this contract accepts.
    bytes32 public immutable queryImageId;
    /// @notice The block-hash accumulator whose known roots anchor journals with a non-zero
    /// historyRoot; address(0): such journals are refused (HistoryAnchorsDisabled).
    IBlockHistory public immutable blockHistory;
    /// @notice Paid to the fulfiller on top of its gas; part of every escrow.
    uint256 public immutable protocolFee;
    /// @notice Gas a fulfilment may cost besides the callback (seal verification, checks,
    /// calldata, payouts); the escrow covers maxFeePerGas × (this + callbackGasLimit).
    uint256 public immutable fulfillOverheadGas;
    /// @notice Blocks after sendQuery during which the escrow stays locked for a fulfiller.
    uint256 public immutable deadlineBlocks;
    /// @notice Largest callbackGasLimit a request may ask for.
    uint256 public immutable maxCallbackGasLimit;

    mapping(bytes32 queryId => Request) public requests;
    mapping(address sender => uint256) public nonces;
    /// @notice Deliveries made by fulfillOffchain, by delivery id.
    mapping(bytes32 deliveryId => bool) public offchainDelivered;
    /// @notice Payments that could not be pushed (the receiver rejected them); see withdraw().
    mapping(address account => uint256) public owed;

    bool private transient _locked;

    event QueryRequested(
        bytes32 indexed queryId,
        address indexed sender,
        bytes32 indexed queryHash,
        uint256 nonce,
        bytes params,
        bytes plan,
        address callback,
        uint32 callbackGasLimit,
        uint64 maxFeePerGas,
        address refundee,
        uint64 deadline,
        uint256 escrow,
        bytes extraData
    );
    event Fulfilled(
        bytes32 indexed queryId,
        address indexed fulfiller,
        bool callbackSucceeded,
        uint256 gasCharged,
        uint256 payment,
        uint256 refund
    );
    event CallbackFailed(bytes32 indexed queryId, address indexed callback);
    event Refunded(bytes32 indexed queryId, address indexed refundee, uint256 amount);
    event OffchainFulfilled(bytes32 indexed deliveryId, address indexed callback, bytes32 indexed queryHash);
    event PaymentDeferred(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, address indexed to, uint256 amount);

    error InvalidConfiguration();
    error PlanHashMismatch(bytes32 queryHash, bytes32 planHash);
    error CallbackGasLimitTooHigh(uint256 callbackGasLimit, uint256 maxCallbackGasLimit);
    error ZeroRefundee();
    error IncorrectPayment(uint256 required, uint256 sent);
    error NotPending(bytes32 queryId, Status status);
    error QueryHashMismatch(bytes32 requested, bytes32 journal);
    error ParamsMismatch(bytes32 requestedHash, bytes32 journalHash);
    error WrongChain(uint256 journalChainId, uint256 chainId);
    error AnchorUnavailable(uint256 anchorNumber);
    error AnchorMismatch(uint256 anchorNumber, bytes32 journalHash, bytes32 chainHash);
    /// @notice The journal is anchored on a BlockHistory root but this contract has no blockHistory.
    error HistoryAnchorsDisabled();
    /// @notice blockHistory never accepted the state whose root the journal is anchored on.
    error UnknownHistoryRoot(bytes32 historyRoot);
    error InsufficientGasForCallback();
    error NotRefundee(address caller, address refundee);
    error DeadlineNotPassed(uint256 deadline, uint256 blockNumber);
    error CallerIsNotCallback(address caller, address callback);
    error AlreadyDelivered(bytes32 deliveryId);
    error NothingOwed(address account);
    error WithdrawFailed(address to, uint256 amount);
    error Reentrancy();

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    constructor(
        IRiscZeroVerifier verifier_,
        bytes32 queryImageId_,
        IBlockHistory blockHistory_,
        uint256 protocolFee_,
        uint256 fulfillOverheadGas_,
        uint256 deadlineBlocks_,
        uint256 maxCallbackGasLimit_
    ) {
        if (
            address(verifier_).code.length == 0
                || (address(blockHistory_) != address(0) && address(blockHistory_).code.length == 0)
                || fulfillOverheadGas_ == 0 || deadlineBlocks_ == 0 || deadlineBlocks_ > type(uint32).max
                || maxCallbackGasLimit_ > type(uint32).max
        ) revert InvalidConfiguration();
        verifier = verifier_;
        queryImageId = queryImageId_;
        blockHistory = blockHistory_;
        protocolFee = protocolFee_;
        fulfillOverheadGas = fulfillOverheadGas_;
        deadlineBlocks = deadlineBlocks_;
        maxCallbackGasLimit = maxCallbackGasLimit_;
    }

    // ---------------------------------------------------------------------------------------
    // requests

    /// @notice The exact msg.value sendQuery takes for these terms.
    function requiredPayment(uint256 callbackGasLimit, uint256 maxFeePerGas) public view returns (uint256) {
        return maxFeePerGas * (fulfillOverheadGas + callbackGasLimit) + protocolFee;
    }

    /// @notice The id sendQuery gives the `nonce`-th request of `sender` (see README: what it binds).
    function computeQueryId(
        address sender,
        uint256 nonce,
        bytes32 queryHash,
        bytes calldata params,
        address callback,
        bytes calldata extraData
    ) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                block.chainid,
                address(this),
                sender,
                nonce,
                queryHash,
                keccak256(params),
                callback,
                keccak256(extraData)
            )
        );
    }

    /// @notice Asks the query whose plan template is `plan` (keccak256(plan) == queryHash) with
    /// parameter values `params`; the answer goes to `callback` with `callbackGasLimit` gas.
    /// msg.value must be exactly requiredPayment(callbackGasLimit, maxFeePerGas).
    function sendQuery(
        bytes32 queryHash,
        bytes calldata params,
        bytes calldata plan,
        address callback,
        uint32 callbackGasLimit,
        uint64 maxFeePerGas,
        address refundee,
        bytes calldata extraData
    ) external payable returns (bytes32 queryId) {
        if (keccak256(plan) != queryHash) revert PlanHashMismatch(queryHash, keccak256(plan));
        if (callbackGasLimit > maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(callbackGasLimit, maxCallbackGasLimit);
        }
        if (refundee == address(0)) revert ZeroRefundee();
        uint256 required = requiredPayment(callbackGasLimit, maxFeePerGas);
        if (msg.value != required) revert IncorrectPayment(required, msg.value);

        uint256 nonce = nonces[msg.sender]++;
        queryId = computeQueryId(msg.sender, nonce, queryHash, params, callback, extraData);
        // casting to 'uint64' is safe because block numbers stay far below 2^64 - 2^32
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 deadline = uint64(block.number + deadlineBlocks);
        Request storage request = requests[queryId];
        request.refundee = refundee;
        request.deadline = deadline;
        request.status = Status.Pending;
        request.callback = callback;
        request.callbackGasLimit = callbackGasLimit;
        request.maxFeePerGas = maxFeePerGas;
        request.escrow = msg.value;
        request.queryHash = queryHash;
        request.paramsHash = keccak256(params);
        if (extraData.length != 0) request.extraData = extraData;
        _emitQueryRequested(queryId, nonce, params, plan, request);
    }

    /// @dev A function of its own: with all of sendQuery's arguments the event is too deep a stack.
    function _emitQueryRequested(
        bytes32 queryId,
        uint256 nonce,
        bytes calldata params,
        bytes calldata plan,
        Request storage request
    ) private {
        emit QueryRequested(
            queryId,
            msg.sender,
            request.queryHash,
            nonce,
            params,
            plan,
            request.callback,
            request.callbackGasLimit,
            request.maxFeePerGas,
            request.refundee,
            request.deadline,
            request.escrow,
            request.extraData
        );
    }

    // ---------------------------------------------------------------------------------------
    // fulfilment

    /// @notice Answers a pending request with a proven journal. Anyone may call it; the proof is
    /// the permission. The callback failing (revert, out of gas) is recorded, not undone.
    function fulfill(bytes32 queryId, bytes calldata journal, bytes calldata seal) external nonReentrant {
        uint256 gasAtStart = gasleft();
        Request storage request = requests[queryId];
        if (request.status != Status.Pending) revert NotPending(queryId, request.status);

        CoprocessorJournal.Journal memory decoded = CoprocessorJournal.decode(journal);
        if (decoded.queryHash != request.queryHash) {
            revert QueryHashMismatch(request.queryHash, decoded.queryHash);
        }
        if (keccak256(decoded.params) != request.paramsHash) {
            revert ParamsMismatch(request.paramsHash, keccak256(decoded.params));
        }
        _checkProven(decoded, journal, seal);

        request.status = Status.Fulfilled; // before any external call
        address callback = request.callback;
        bool succeeded = _callWithExactGas(
            callback,
            request.callbackGasLimit,
            abi.encodeCall(
                ICoprocessorClient.coprocessorCallback,
                (queryId, decoded.queryHash, decoded.params, decoded.anchorNumber, decoded.result, request.extraData)
            )
        );
        if (!succeeded) emit CallbackFailed(queryId, callback);
        _settle(queryId, request, gasAtStart, succeeded);
    }

    /// @notice Delivers a proven journal to `callback` without a request. Only `callback` itself
    /// may call it, so no one else can deliver to it (with extraData of their choosing) or take
    /// the effect of a delivery it meant to make; each (callback, journal) is delivered once.
    /// The callback gets all remaining gas and its revert undoes the delivery.
    function fulfillOffchain(bytes calldata journal, bytes calldata seal, address callback, bytes calldata extraData)
        external
        nonReentrant
        returns (bytes32 deliveryId)
    {
        if (msg.sender != callback) revert CallerIsNotCallback(msg.sender, callback);
        CoprocessorJournal.Journal memory decoded = CoprocessorJournal.decode(journal);
        _checkProven(decoded, journal, seal);
        deliveryId = keccak256(abi.encode(block.chainid, address(this), callback, keccak256(journal)));
        if (offchainDelivered[deliveryId]) revert AlreadyDelivered(deliveryId);
        offchainDelivered[deliveryId] = true;
        emit OffchainFulfilled(deliveryId, callback, decoded.queryHash);
        ICoprocessorClient(callback)
            .coprocessorCallback(
                deliveryId, decoded.queryHash, decoded.params, decoded.anchorNumber, decoded.result, extraData
            );
    }

    /// @notice Gives the whole escrow of a request nobody fulfilled back to its refundee, once
    /// its deadline has passed. Only the refundee may call it.
    function refund(bytes32 queryId) external nonReentrant {
        Request storage request = requests[queryId];
        if (request.status != Status.Pending) revert NotPending(queryId, request.status);
        if (msg.sender != request.refundee) revert NotRefundee(msg.sender, request.refundee);
        if (block.number <= request.deadline) revert DeadlineNotPassed(request.deadline, block.number);
        uint256 amount = request.escrow;
        request.status = Status.Refunded;
        request.escrow = 0;
        emit Refunded(queryId, msg.sender, amount);
        _pay(msg.sender, amount, gasleft());
    }

    /// @notice Sends what this contract owes msg.sender (payments it could not push) to `to`.
    function withdraw(address to) external nonReentrant {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert NothingOwed(msg.sender);
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        bool sent;
        assembly ("memory-safe") {
            sent := call(gas(), to, amount, 0, 0, 0, 0)
        }
        if (!sent) revert WithdrawFailed(to, amount);
    }

    // ---------------------------------------------------------------------------------------
    // checks

    /// @dev The journal's chain, its anchor on this chain, and the seal for the pinned image. The
    /// anchor: with historyRoot zero, its hash is this chain's hash of anchorNumber (blockHashOf);
    /// otherwise the guest proved it inside the BlockHistory state of that root, and that state
    /// is taken as canonical here when blockHistory once accepted it (the anchor's own hash is
    /// not looked up: it may be far older than EIP-2935 serves).
    function _checkProven(CoprocessorJournal.Journal memory decoded, bytes calldata journal, bytes calldata seal)
        private
        view
    {
        if (decoded.chainId != block.chainid) revert WrongChain(decoded.chainId, block.chainid);
        if (decoded.historyRoot == bytes32(0)) {
            bytes32 onChain = blockHashOf(decoded.anchorNumber);
            if (onChain != decoded.anchorHash) {
                revert AnchorMismatch(decoded.anchorNumber, decoded.anchorHash, onChain);
            }
        } else {
            IBlockHistory history = blockHistory;
            if (address(history) == address(0)) revert HistoryAnchorsDisabled();
            if (!history.isKnownRoot(decoded.historyRoot)) revert UnknownHistoryRoot(decoded.historyRoot);
        }
        verifier.verify(seal, queryImageId, sha256(journal));
    }

    /// @notice The hash of block `blockNumber` as this chain knows it: blockhash() for the last 256
    /// blocks, the EIP-2935 history contract for the last 8191; reverts AnchorUnavailable beyond
    /// (and for the current or a future block).
    function blockHashOf(uint256 blockNumber) public view returns (bytes32 hash) {
        if (blockNumber >= block.number) revert AnchorUnavailable(blockNumber);
        uint256 age = block.number - blockNumber;
        if (age <= BLOCKHASH_WINDOW) {
            hash = blockhash(blockNumber);
        } else if (age <= HISTORY_SERVE_WINDOW) {
            address history = BLOCK_HASH_HISTORY;
            assembly ("memory-safe") {
                mstore(0, blockNumber)
                // at most 32 bytes are copied back, whatever the contract answers
                let answered := staticcall(gas(), history, 0, 32, 0, 32)
                if and(answered, eq(returndatasize(), 32)) { hash := mload(0) }
            }
        }
        if (hash == bytes32(0)) revert AnchorUnavailable(blockNumber);
    }

    // ---------------------------------------------------------------------------------------
    // calls and payments

    /// @dev Calls `target` with exactly `gasLimit` gas (reverts if the 63/64 rule would give it
    /// less) and copies no return data back (a callback cannot make us pay for a huge one).
    function _callWithExactGas(address target, uint256 gasLimit, bytes memory data) private returns (bool success) {
        bytes4 insufficientGas = InsufficientGasForCallback.selector;
        assembly ("memory-safe") {
            let available := gas()
            if lt(available, CALLBACK_CALL_RESERVE) {
                mstore(0, insufficientGas)
                revert(0, 4)
            }
            available := sub(available, CALLBACK_CALL_RESERVE)
            // after the CALL, 1/64 of what is left stays with this frame (EIP-150)
            if iszero(gt(sub(available, div(available, 64)), gasLimit)) {
                mstore(0, insufficientGas)
                revert(0, 4)
            }
            success := call(gasLimit, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
    }

    /// @dev Pays the fulfiller for the gas used (at most the request's budget, at a price of at
    /// most maxFeePerGas) plus the protocol fee; the rest of the escrow goes to the refundee.
    function _settle(bytes32 queryId, Request storage request, uint256 gasAtStart, bool callbackSucceeded) private {
        uint256 gasUsed = gasAtStart - gasleft() + TX_BASE_GAS + _calldataGas() + UNMETERED_EXECUTION_GAS;
        uint256 budget = fulfillOverheadGas + request.callbackGasLimit;
        uint256 gasCharged = gasUsed < budget ? gasUsed : budget;
        uint256 price = tx.gasprice < request.maxFeePerGas ? tx.gasprice : request.maxFeePerGas;
        uint256 payment = gasCharged * price + protocolFee;
        uint256 escrow = request.escrow;
        uint256 remainder = escrow - payment; // payment <= budget × maxFeePerGas + fee == escrow
        request.escrow = 0;
        emit Fulfilled(queryId, msg.sender, callbackSucceeded, gasCharged, payment, remainder);
        _pay(msg.sender, payment, 0);
        _pay(request.refundee, remainder, 0);
    }

    /// @dev What this call's calldata cost the transaction (exact when fulfill is the transaction's
    /// own call): zero bytes are counted a word at a time, about 2 gas per byte.
    function _calldataGas() internal pure returns (uint256) {
        uint256 size = msg.data.length;
        uint256 zeros;
        assembly ("memory-safe") {
            let low7 := 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f
            let lsb := 0x0101010101010101010101010101010101010101010101010101010101010101
            for { let offset := 0 } lt(offset, size) { offset := add(offset, 32) } {
                let word := calldataload(offset)
                // the top bit of each byte of `zero` is set iff that byte of `word` is 0
                let zero := not(or(or(add(and(word, low7), low7), word), low7))
                // add up those bits into the top byte
                zeros := add(zeros, shr(248, mul(shr(7, zero), lsb)))
            }
            // calldataload pads the last word with zeros that are not calldata
            zeros := sub(zeros, and(sub(32, and(size, 31)), 31))
        }
        return zeros * CALLDATA_GAS_PER_ZERO_BYTE + (size - zeros) * CALLDATA_GAS_PER_NONZERO_BYTE;
    }

    /// @dev Pushes `amount` to `to` with `gasLimit` gas (0: the 2300-gas stipend of a value call);
    /// if `to` rejects it, it is owed to `to` instead (withdraw()), so no receiver can block a
    /// fulfilment or a refund.
    function _pay(address to, uint256 amount, uint256 gasLimit) private {
        if (amount == 0) return;
        bool sent;
        assembly ("memory-safe") {
            sent := call(gasLimit, to, amount, 0, 0, 0, 0)
        }
        if (!sent) {
            owed[to] += amount;
            emit PaymentDeferred(to, amount);
        }
    }
}
