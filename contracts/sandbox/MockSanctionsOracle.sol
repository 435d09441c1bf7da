// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {ISanctionsOracle} from "../interfaces/ISanctionsOracle.sol";

/// @title MockSanctionsOracle
/// @notice SANDBOX / TESTNET ONLY. Same `isSanctioned` interface as Chainalysis' oracle, with a list
///         the owner edits, so screening and the router's on-chain check can be exercised locally.
contract MockSanctionsOracle is ISanctionsOracle, Ownable {
    mapping(address addr => bool sanctioned) private _sanctioned;

    event SanctionedSet(address indexed addr, bool sanctioned);

    constructor() Ownable(msg.sender) {}

    function isSanctioned(address addr) external view returns (bool) {
        return _sanctioned[addr];
    }

    function setSanctioned(address addr, bool sanctioned) external onlyOwner {
        _sanctioned[addr] = sanctioned;
        emit SanctionedSet(addr, sanctioned);
    }
}
