// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title DepositForwarder
/// @notice The contract that lives at an invoice's deposit address (see DepositFactory). It can send
///         what it holds to exactly one place: the merchant payout address fixed at deployment, which
///         is also part of the CREATE2 address itself. Only the factory that deployed it can trigger a
///         flush, and the factory does so only with the compliance signer's authorization; nobody can
///         choose where funds go.
/// @dev Native coin that arrives after deployment is *kept* until a flush, not forwarded inside
///      `receive()`, because:
///      - senders using Solidity's `transfer`/`send` (some exchanges and contract wallets) give only
///        a 2,300 gas stipend, while forwarding needs a value-bearing CALL (9,000+ gas); an empty
///        `receive()` accepts such payments, an eager one would bounce them;
///      - a payout address that rejects coin can then never make the payer's deposit fail;
///      - a payment under compliance review must stay where it is until it is released;
///      - the address behaves the same before and after deployment (funds accumulate, an authorized
///        `DepositFactory.deployAndFlush` sweeps them), so the gateway detects deposits one way.
///      This is a complete small contract rather than an EIP-1167 clone on purpose: a clone's
///      `receive()` delegatecalls its implementation, and the cold-account access alone (2,600 gas)
///      exceeds the 2,300 gas stipend, so `transfer`-style deposits to a clone would fail.
contract DepositForwarder {
    using SafeERC20 for IERC20;

    /// @notice The only destination of every flush.
    address payable public immutable payout;
    /// @notice The factory that deployed this forwarder (CREATE2 ties the address to it): the only
    ///         caller allowed to flush.
    address public immutable factory;

    /// @param forwarder this contract (repeated so a filter on the topic works across forwarders)
    /// @param token the token flushed, address(0) for native coin
    event Flushed(address indexed forwarder, address indexed token, uint256 amount);

    error ZeroPayout();
    error NotFactory(address caller);
    error NativeFlushFailed(address payout, uint256 amount);
    error TokenNotContract(address token);

    constructor(address payable payout_) {
        if (payout_ == address(0)) revert ZeroPayout();
        payout = payout_;
        factory = msg.sender;
    }

    /// @notice Accepts native coin and keeps it for a flush (see the contract notes for why).
    receive() external payable {}

    /// @notice Sends the whole native balance and the whole balance of each listed token to `payout`.
    ///         Zero balances are skipped; a token whose transfer fails reverts the whole call (retry
    ///         without it). Only the factory may call it, after checking the flush authorization.
    function flush(address[] calldata tokens) external {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        uint256 amount = address(this).balance;
        if (amount != 0) {
            (bool ok,) = payout.call{value: amount}("");
            if (!ok) revert NativeFlushFailed(payout, amount);
            emit Flushed(address(this), address(0), amount);
        }
        for (uint256 i = 0; i < tokens.length; ++i) {
            _flushToken(tokens[i]);
        }
    }

    function _flushToken(address token) private {
        if (token.code.length == 0) revert TokenNotContract(token);
        uint256 amount = IERC20(token).balanceOf(address(this));
        if (amount == 0) return;
        IERC20(token).safeTransfer(payout, amount);
        emit Flushed(address(this), token, amount);
    }
}
