// English words of the checkout page. kk.ts and ru.ts have the same keys (the type says so); `{name}`
// marks a value filled in at render time, on the server or by the page script.

export const en = {
  langName: 'English',
  locale: 'en-GB',
  pageTitle: 'Pay {merchant}',
  notFoundTitle: 'Invoice not found',
  notFoundText: 'This payment link is not valid. Check the link, or ask the seller for a new one.',
  language: 'Language',
  payTo: 'Payment to',
  amountToPay: 'Amount to pay',
  timeLeft: 'Time left to pay',
  payWith: 'Choose how to pay',
  network: 'Network',
  sendExactly: 'Send exactly',
  toAddress: 'To this address',
  copyAmount: 'Copy amount',
  copyAddress: 'Copy address',
  copied: 'Copied',
  copyFailed: 'Could not copy: select the text and copy it',
  openInWallet: 'Open in a wallet app',
  qrLabel: 'QR code to pay {amount} {asset}',
  scanHint:
    'Scan the code with your wallet app, or copy the amount and the address. ' +
    'Send the exact amount on the {network} network.',
  remainderHint: 'The code and the amount below are for the rest still to pay.',
  rateLine: 'Rate locked for this invoice: 1 {asset} = {rate}',
  status: {
    waiting: 'Waiting for your payment',
    waitingDetail: 'The page updates by itself when your payment arrives.',
    partial: 'Part of the payment has arrived',
    partialDetail: 'Received {paid}. Still to pay: {due}. Send the rest with the details below.',
    seen: 'Payment seen',
    seenDetail: 'Waiting for confirmations from the network: {n} of {m}.',
    confirming: 'Confirming your payment',
    confirmingDetail: 'Confirmations: {n} of {m}.',
    review: 'Payment received',
    reviewDetail:
      'It is being checked, which can take a little longer than usual. You do not need to do anything else.',
    paid: 'Paid',
    paidOver: 'Paid, more than the amount due',
    paidOverDetail:
      'Received {paid} for an invoice of {amount}. The extra {excess} is for {merchant} to return: ' +
      'please contact them.',
    paidDetail: 'Thank you! {merchant} has received your payment.',
    expired: 'This invoice has expired',
    expiredDetail: 'Please do not send a payment now. Ask {merchant} for a new invoice.',
    expiredPartialDetail:
      'It expired before the full amount arrived ({paid} received). Please contact {merchant}.',
    late: 'The payment arrived after the time ran out',
    lateDetail: 'Please contact {merchant} about it.',
    invalid: 'This invoice can no longer be paid',
    invalidDetail: 'Please contact {merchant}.',
  },
  redirecting: 'Taking you back to {merchant}…',
  backToMerchant: 'Back to {merchant}',
  paymentsTitle: 'Payments received',
  confirmations: 'Confirmations: {n} of {m}',
  transaction: 'Transaction',
  wallet: {
    button: 'Pay with a browser wallet',
    or: 'or',
    connecting: 'Connecting to your wallet…',
    switching: 'Switching your wallet to {network}…',
    preparing: 'Preparing the payment…',
    signPermit: 'Sign the permission to spend {asset} in your wallet.',
    approve: 'Allow {asset} to be spent in your wallet (step 1 of 2).',
    waitApproval: 'Waiting for the permission to be confirmed…',
    confirm: 'Confirm the payment in your wallet.',
    sent: 'Payment sent. Waiting for the network…',
    refused: 'You cancelled the request in your wallet. Nothing was sent.',
    payerRefused: 'This wallet cannot pay this invoice. Please pay from another wallet.',
    notPayable: 'This invoice no longer takes payments.',
    unavailable:
      'Paying from a browser wallet is not available right now. Use the QR code or the address above.',
    failed: 'The wallet reported an error: {message}',
    noAccount: 'The wallet did not share an account.',
  },
  noscript: 'Reload the page to see whether your payment has arrived.',
  footer: 'Secure payment page. The amounts are locked until the timer runs out.',
};

export type Messages = typeof en;
