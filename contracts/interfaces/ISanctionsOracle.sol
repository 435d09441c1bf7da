// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The interface of Chainalysis' on-chain sanctions oracle, which the router can consult.
/// @dev The sandbox uses MockSanctionsOracle; on public networks the operator may point the router
///      at a deployed oracle (or at none).
interface ISanctionsOracle {
    function isSanctioned(address addr) external view returns (bool);
}
