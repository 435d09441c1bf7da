// The platform scrypt (node:crypto here) gives the bytes @noble/hashes gives, so hashes stored before
// the switch still verify, and so does a Worker without a native scrypt.
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/auth/passwords';
import { platformScrypt } from '../../src/auth/scrypt';

describe('platformScrypt', () => {
  it('matches @noble/hashes byte for byte', async () => {
    const password = new TextEncoder().encode('correct horse battery staple');
    const salt = new Uint8Array(16).fill(7);
    const params = { N: 2 ** 12, r: 8, p: 1, dkLen: 32 };
    const noble = await scryptAsync(password, salt, params);
    expect(Buffer.from(await platformScrypt(password, salt, params))).toEqual(Buffer.from(noble));
  });

  it('a stored hash verifies, and a wrong password does not', async () => {
    const stored = await hashPassword('correct horse battery staple', 10);
    expect(stored).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99$8$1$AA==$AA==')).toBe(false);
  });
});
