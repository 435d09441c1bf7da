// The one invoice-expiry rule, for the API, the dashboard, the CLI and merchant defaults alike:
// 1 to INVOICE_EXPIRY_MAX_MINUTES minutes (a rate is locked for that long).

/** INVOICE_EXPIRY_MAX_MINUTES's default (src/config.ts): a week. */
export const DEFAULT_EXPIRY_MAX_MINUTES = 7 * 24 * 60;

export function expiryRangeMessage(maxMinutes: number): string {
  return `must be between 1 and ${maxMinutes} minutes`;
}
