// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {ISanctionsOracle} from "./interfaces/ISanctionsOracle.sol";

/// @title PaymentRouter
/// @notice Pays a gateway invoice from a browser wallet in one transaction. The gateway screens the
///         payer first, then signs an EIP-712 `Intent` binding the invoice, the payer, the asset, the
///         exact amount, the merchant's recipient address and a deadline. The payer's wallet submits
///         it here; the router moves exactly that amount to the recipient and emits `InvoicePaid`,
///         which the gateway's watcher matches to the invoice.
/// @dev The router never holds funds across transactions: native coin is forwarded within the call
///      and tokens go straight from the payer to the recipient. An intent is single-use, keyed by its
///      EIP-712 digest (which already commits to chain id and this contract's address), so neither a
///      replay here nor on another chain or router deployment is possible.
contract PaymentRouter is EIP712, Ownable2Step, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice What the gateway signs. `token == address(0)` means the chain's native coin.
    /// @dev `deadline` is inclusive, in unix seconds (compared with `block.timestamp`).
    struct Intent {
        bytes32 invoiceId;
        address payer;
        address token;
        uint256 amount;
        address recipient;
        uint256 deadline;
    }

    bytes32 public constant INTENT_TYPEHASH = keccak256(
        "Intent(bytes32 invoiceId,address payer,address token,uint256 amount,"
        "address recipient,uint256 deadline)"
    );

    /// @notice Gateway keys whose signatures are accepted. A set, so keys can be rotated without
    ///         a gap: add the new key, switch the gateway over, remove the old one.
    mapping(address signer => bool allowed) public isSigner;

    /// @notice EIP-712 digests of intents already paid.
    mapping(bytes32 digest => bool used) public isIntentUsed;

    /// @notice Optional on-chain sanctions oracle; address(0) disables the check.
    ISanctionsOracle public sanctionsOracle;

    event InvoicePaid(
        bytes32 indexed invoiceId,
        address indexed payer,
        address indexed token,
        uint256 amount,
        address recipient,
        bytes32 intentHash
    );
    event SignerAdded(address indexed signer);
    event SignerRemoved(address indexed signer);
    event SanctionsOracleUpdated(address indexed previousOracle, address indexed newOracle);

    /// @notice The signature is malformed (wrong length, high-s, or not recoverable).
    error InvalidSignature();
    /// @notice The signature is well formed but its signer is not in the allowed set. This is also
    ///         what an intent signed for another chain id or router looks like (the digest differs).
    error UnauthorizedSigner(address recovered);
    error IntentExpired(uint256 deadline, uint256 timestamp);
    error IntentAlreadyUsed(bytes32 intentHash);
    /// @notice Only the payer named in the intent may submit it (its funds are the ones moved).
    error PayerMismatch(address expected, address actual);
    error ZeroAmount();
    error InvalidRecipient(address recipient);
    error TokenNotContract(address token);
    error IncorrectNativeAmount(uint256 expected, uint256 received);
    /// @notice Native coin was attached to a token payment; it would otherwise be stuck here.
    error UnexpectedNativeValue(uint256 value);
    error NativeTransferFailed(address recipient);
    /// @notice The recipient's token balance did not grow by exactly the amount (fee-on-transfer or
    ///         otherwise non-standard token): the merchant would receive less than the invoice.
    error ReceivedAmountMismatch(uint256 expected, uint256 received);
    error PermitNotApplicable();
    /// @notice The permit call failed and the existing allowance does not cover the amount.
    error PermitFailed(uint256 allowance, uint256 required);
    error SanctionedPayer(address payer);
    error ZeroAddress();
    error SignerAlreadyAdded(address signer);
    error SignerNotFound(address signer);
    error OracleNotContract(address oracle);
    /// @notice Renouncing would freeze the signer set and the pause switch for good.
    error RenounceOwnershipDisabled();

    constructor(address initialOwner, address initialSigner)
        EIP712("AlatauPayRouter", "1")
        Ownable(initialOwner)
    {
        _addSigner(initialSigner);
    }

    // ---------------------------------------------------------------- payments

    /// @notice Pays `intent` with native coin (`msg.value` must equal `intent.amount`) or, when
    ///         `intent.token` is set, with that token after the payer approved this router.
    function pay(Intent calldata intent, bytes calldata signature)
        external
        payable
        nonReentrant
        whenNotPaused
    {
        bytes32 digest = _consume(intent, signature);
        if (intent.token == address(0)) {
            if (msg.value != intent.amount) revert IncorrectNativeAmount(intent.amount, msg.value);
            (bool ok,) = payable(intent.recipient).call{value: msg.value}("");
            if (!ok) revert NativeTransferFailed(intent.recipient);
        } else {
            if (msg.value != 0) revert UnexpectedNativeValue(msg.value);
            _pullToken(intent);
        }
        _emitPaid(intent, digest);
    }

    /// @notice Pays a token intent using an EIP-2612 permit (signed by the payer for this router,
    ///         value = `intent.amount`) instead of a prior approve transaction.
    /// @dev Permits are visible in the mempool, so anyone may submit the same permit first; that
    ///      consumes its nonce and makes our call revert although the allowance is now in place.
    ///      The permit's failure is therefore tolerated whenever the allowance covers the amount.
    function payWithPermit(
        Intent calldata intent,
        bytes calldata signature,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenNotPaused {
        if (intent.token == address(0)) revert PermitNotApplicable();
        bytes32 digest = _consume(intent, signature);
        IERC20Permit permitToken = IERC20Permit(intent.token);
        try permitToken.permit(intent.payer, address(this), intent.amount, permitDeadline, v, r, s) {}
        catch {
            uint256 allowance = IERC20(intent.token).allowance(intent.payer, address(this));
            if (allowance < intent.amount) revert PermitFailed(allowance, intent.amount);
        }
        _pullToken(intent);
        _emitPaid(intent, digest);
    }

    /// @notice The EIP-712 digest the gateway signs for `intent` (also the key of `isIntentUsed`).
    function hashIntent(Intent calldata intent) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    INTENT_TYPEHASH,
                    intent.invoiceId,
                    intent.payer,
                    intent.token,
                    intent.amount,
                    intent.recipient,
                    intent.deadline
                )
            )
        );
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev Every check, then marks the intent used before any external transfer (checks-effects-
    ///      interactions, on top of the reentrancy guard).
    function _consume(Intent calldata intent, bytes calldata signature) private returns (bytes32 digest) {
        if (block.timestamp > intent.deadline) revert IntentExpired(intent.deadline, block.timestamp);
        if (msg.sender != intent.payer) revert PayerMismatch(intent.payer, msg.sender);
        if (intent.amount == 0) revert ZeroAmount();
        if (intent.recipient == address(0) || intent.recipient == address(this)) {
            revert InvalidRecipient(intent.recipient);
        }
        // Checked here, before any try/catch: a call to a code-less address fails outside `try`.
        if (intent.token != address(0) && intent.token.code.length == 0) {
            revert TokenNotContract(intent.token);
        }

        digest = hashIntent(intent);
        (address recovered, ECDSA.RecoverError recoverError,) = ECDSA.tryRecover(digest, signature);
        if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature();
        if (!isSigner[recovered]) revert UnauthorizedSigner(recovered);
        if (isIntentUsed[digest]) revert IntentAlreadyUsed(digest);

        // Fails closed: if a configured oracle reverts, so does the payment.
        ISanctionsOracle oracle = sanctionsOracle;
        if (address(oracle) != address(0) && oracle.isSanctioned(intent.payer)) {
            revert SanctionedPayer(intent.payer);
        }

        isIntentUsed[digest] = true;
    }

    /// @dev Moves the tokens payer -> recipient and insists that the recipient's balance grew by
    ///      exactly the amount, which rejects fee-on-transfer and similar tokens.
    function _pullToken(Intent calldata intent) private {
        IERC20 token = IERC20(intent.token);
        uint256 balanceBefore = token.balanceOf(intent.recipient);
        token.safeTransferFrom(intent.payer, intent.recipient, intent.amount);
        uint256 balanceAfter = token.balanceOf(intent.recipient);
        uint256 received = balanceAfter > balanceBefore ? balanceAfter - balanceBefore : 0;
        if (received != intent.amount) revert ReceivedAmountMismatch(intent.amount, received);
    }

    function _emitPaid(Intent calldata intent, bytes32 digest) private {
        emit InvoicePaid(
            intent.invoiceId, intent.payer, intent.token, intent.amount, intent.recipient, digest
        );
    }

    // ---------------------------------------------------------------- administration

    function addSigner(address signer) external onlyOwner {
        _addSigner(signer);
    }

    function removeSigner(address signer) external onlyOwner {
        if (!isSigner[signer]) revert SignerNotFound(signer);
        isSigner[signer] = false;
        emit SignerRemoved(signer);
    }

    /// @notice Sets the sanctions oracle; address(0) turns the on-chain check off.
    function setSanctionsOracle(address oracle) external onlyOwner {
        // An address without code would make every payment revert while decoding its answer.
        if (oracle != address(0) && oracle.code.length == 0) revert OracleNotContract(oracle);
        emit SanctionsOracleUpdated(address(sanctionsOracle), oracle);
        sanctionsOracle = ISanctionsOracle(oracle);
    }

    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }

    function renounceOwnership() public pure override {
        revert RenounceOwnershipDisabled();
    }

    function _addSigner(address signer) private {
        if (signer == address(0)) revert ZeroAddress();
        if (isSigner[signer]) revert SignerAlreadyAdded(signer);
        isSigner[signer] = true;
        emit SignerAdded(signer);
    }
}
