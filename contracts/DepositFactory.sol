// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {DepositForwarder} from "./DepositForwarder.sol";

/// @title DepositFactory
/// @notice Gives every invoice its own deposit address, known before anything is deployed:
///         `CREATE2(this, keccak256(abi.encode(invoiceId, payout)), DepositForwarder(payout))`.
///         A payer sends coin or tokens to that address from any wallet; later the gateway's sweeper
///         calls `deployAndFlush` with a flush authorization, which deploys the forwarder there if
///         needed and moves everything to the merchant's payout address.
/// @dev Trust model. The address commits to the payout address twice (in the salt and in the
///      constructor argument), so no deployment at that address can ever send funds elsewhere: not
///      the submitter, not the flush signer, not the owner. What the compliance side controls is
///      *when*: a flush needs an EIP-712 `Flush` authorization signed by `flushSigner` (the gateway,
///      which signs only while no payment on the deposit is held or rejected by AML review), bound to
///      this chain and factory, to the exact token list, to a deadline and to the forwarder's nonce,
///      so an authorization works once and a stale one cannot be replayed after a hold begins. The
///      signer (and the owner who may replace it) can therefore delay or freeze a merchant's deposit,
///      never take it; a payment a regulator rejects never reaches the merchant through this contract.
contract DepositFactory is EIP712, Ownable2Step {
    /// @dev `deadline` is inclusive, in unix seconds; `nonce` is `nonces(forwarder)` at signing time.
    bytes32 public constant FLUSH_TYPEHASH = keccak256(
        "Flush(bytes32 invoiceId,address payout,address[] tokens,uint256 nonce,uint256 deadline)"
    );

    /// @notice The address whose signature a flush needs.
    address public flushSigner;
    /// @notice Flushes authorized so far per forwarder address: the nonce the next authorization signs.
    mapping(address forwarder => uint256 nonce) public nonces;

    event ForwarderDeployed(address indexed forwarder, bytes32 indexed invoiceId, address indexed payout);
    event FlushSignerChanged(address indexed previous, address indexed current);

    error ZeroPayout();
    error ZeroSigner();
    error AuthorizationExpired(uint256 deadline, uint256 timestamp);
    error InvalidSignature();
    /// @notice The signature is well formed but not by `flushSigner` over this exact flush (a replay,
    ///         another nonce, token list or deadline all recover some other address).
    error UnauthorizedSigner(address recovered);
    /// @notice Renouncing would freeze the flush signer for good (and with it every deposit).
    error RenounceOwnershipDisabled();

    constructor(address initialOwner, address initialSigner)
        EIP712("AlatauPayDepositFactory", "1")
        Ownable(initialOwner)
    {
        _setFlushSigner(initialSigner);
    }

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
    ///         Harmless for anyone to call: a deployed forwarder keeps its funds until an authorized flush.
    function deploy(bytes32 invoiceId, address payable payout) public returns (address forwarder) {
        if (payout == address(0)) revert ZeroPayout();
        forwarder = computeAddress(invoiceId, payout);
        if (forwarder.code.length != 0) return forwarder;
        // CREATE2 onto an address that already holds coin keeps that balance; flush moves it.
        new DepositForwarder{salt: salt(invoiceId, payout)}(payout);
        emit ForwarderDeployed(forwarder, invoiceId, payout);
    }

    /// @notice Deploys the forwarder if needed, then flushes its native balance and the balances of
    ///         `tokens` to `payout`, if `signature` is the flush signer's authorization of exactly this
    ///         flush (see `hashFlush`). Anyone may submit it; the destination is not theirs to choose.
    function deployAndFlush(
        bytes32 invoiceId,
        address payable payout,
        address[] calldata tokens,
        uint256 deadline,
        bytes calldata signature
    ) external returns (address forwarder) {
        if (block.timestamp > deadline) revert AuthorizationExpired(deadline, block.timestamp);
        forwarder = computeAddress(invoiceId, payout);
        // Consume the nonce before any outside call, so a re-entering payout cannot reuse it.
        uint256 nonce = nonces[forwarder]++;
        bytes32 digest = hashFlush(invoiceId, payout, tokens, nonce, deadline);
        (address recovered, ECDSA.RecoverError recoverError,) = ECDSA.tryRecover(digest, signature);
        if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature();
        if (recovered != flushSigner) revert UnauthorizedSigner(recovered);
        deploy(invoiceId, payout);
        DepositForwarder(payable(forwarder)).flush(tokens);
    }

    /// @notice The EIP-712 digest the flush signer signs.
    function hashFlush(bytes32 invoiceId, address payout, address[] calldata tokens, uint256 nonce, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    FLUSH_TYPEHASH, invoiceId, payout, keccak256(abi.encodePacked(tokens)), nonce, deadline
                )
            )
        );
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Replaces the flush signer (key rotation) without moving any deposit address.
    function setFlushSigner(address signer) external onlyOwner {
        _setFlushSigner(signer);
    }

    function renounceOwnership() public pure override {
        revert RenounceOwnershipDisabled();
    }

    function _setFlushSigner(address signer) private {
        if (signer == address(0)) revert ZeroSigner();
        emit FlushSignerChanged(flushSigner, signer);
        flushSigner = signer;
    }
}
