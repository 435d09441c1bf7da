import { describe, expect, it } from 'vitest';
import { bearerToken } from '../../src/http/auth';
import { AuthError } from '../../src/lib/errors';

describe('bearerToken', () => {
  it('takes the token after "Bearer", case-insensitively, tolerating extra spaces', () => {
    expect(bearerToken('Bearer sk_test_abc')).toBe('sk_test_abc');
    expect(bearerToken('bearer sk_test_abc')).toBe('sk_test_abc');
    expect(bearerToken('BEARER   sk_test_abc  ')).toBe('sk_test_abc');
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'Basic dXNlcjpwYXNz',
    'sk_test_abc',
    'Bearer a b',
    'Token sk_test_abc',
  ])('refuses %j with 401 unauthenticated and a WWW-Authenticate challenge', (header) => {
    let err: unknown;
    try {
      bearerToken(header);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect((err as AuthError).headers?.['WWW-Authenticate']).toMatch(/^Bearer/);
  });
});
