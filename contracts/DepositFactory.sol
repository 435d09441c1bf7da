// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";

import {DepositForwarder} from "./DepositForwarder.sol";

/// @title DepositFactory
/// @notice Gives every invoice its own deposit address, known before anything is deployed:
///         `CREATE2(this, keccak256(abi.encode(invoiceId, payout)), DepositForwarder(payout))`.
///         A payer sends coin or tokens to that address from any wallet; later anyone (in practice
///         the gateway's sweeper) calls `deployAndFlush`, which deploys the forwarder there if needed
///         and moves everything to the merchant's payout address.
/// @dev The address commits to the payout address twice (in the salt and in the constructor
///      argument), so no deployment at that address can ever send funds elsewhere. The factory
///      keeps no state and has no owner.
contract DepositFactory {
    event ForwarderDeployed(address indexed forwarder, bytes32 indexed invoiceId, address indexed payout);

    error ZeroPayout();

    /// @notice The CREATE2 salt for an invoice and its payout address.
    function salt(bytes32 invoiceId, address payout) public pure returns (bytes32) {
        return keccak256(abi.encode(invoiceId, payout));
    }

    /// @notice keccak256 of the forwarder's init code (creation code + abi-encoded payout).
    function initCodeHash(address payout) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(type(DepositForwarder).creationCode, abi.encode(payout)));
    }

    /// @notice The deposit address of `invoiceId` paying out to `payout`, deployed or not.
    function computeAddress(bytes32 invoiceId, address payout) public view returns (address) {
        return Create2.computeAddress(salt(invoiceId, payout), initCodeHash(payout));
    }

    /// @notice Deploys the forwarder unless it already exists; returns its address either way.
    function deploy(bytes32 invoiceId, address payable payout) public returns (address forwarder) {
        if (payout == address(0)) revert ZeroPayout();
        forwarder = computeAddress(invoiceId, payout);
        if (forwarder.code.length != 0) return forwarder;
        // CREATE2 onto an address that already holds coin keeps that balance; flush moves it.
        new DepositForwarder{salt: salt(invoiceId, payout)}(payout);
        emit ForwarderDeployed(forwarder, invoiceId, payout);
    }

    /// @notice Deploys the forwarder if needed, then flushes its native balance and the balances of
    ///         `tokens` to `payout`. Callable by anyone: the destination is not theirs to choose.
    function deployAndFlush(bytes32 invoiceId, address payable payout, address[] calldata tokens)
        external
        returns (address forwarder)
    {
        forwarder = deploy(invoiceId, payout);
        DepositForwarder(payable(forwarder)).flush();
        if (tokens.length != 0) DepositForwarder(payable(forwarder)).flushTokens(tokens);
    }
}
