// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PaymentRouter} from "../../PaymentRouter.sol";

/// @title ReentrantRecipient
/// @notice TESTS ONLY. A merchant "recipient" that, on receiving native coin from the router, tries
///         to pay a second, otherwise valid intent (with itself as payer) through the router again.
///         The router's reentrancy guard must stop that inner call.
contract ReentrantRecipient {
    PaymentRouter public immutable router;

    PaymentRouter.Intent private _intent;
    bytes private _signature;
    bool public armed;
    /// @notice true: re-throw the inner call's error (the outer payment fails);
    ///         false: swallow it and record it in `lastError` (the outer payment goes through).
    bool public bubble;
    bool public reentered;
    bytes public lastError;

    constructor(PaymentRouter router_) {
        router = router_;
    }

    function arm(PaymentRouter.Intent calldata intent, bytes calldata signature, bool bubble_) external {
        _intent = intent;
        _signature = signature;
        bubble = bubble_;
        armed = true;
    }

    /// @notice Pays the stored intent outside any re-entry, showing it is valid in itself.
    function payStored() external {
        router.pay{value: _intent.amount}(_intent, _signature);
    }

    receive() external payable {
        if (!armed) return;
        armed = false;
        try router.pay{value: _intent.amount}(_intent, _signature) {
            reentered = true;
        } catch (bytes memory reason) {
            lastError = reason;
            if (bubble) {
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }
}
