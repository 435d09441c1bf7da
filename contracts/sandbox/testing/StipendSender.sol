// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title StipendSender
/// @notice TESTS ONLY. Pays with Solidity's `transfer`, which forwards just 2,300 gas, as some
///         exchanges and older contract wallets do; deposit forwarders must still accept it.
contract StipendSender {
    function forward(address payable to) external payable {
        to.transfer(msg.value);
    }
}
