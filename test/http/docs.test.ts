import { describe, expect, it } from 'vitest';
import { renderDocs } from '../../src/http/docs';

describe('renderDocs', () => {
  it('lists every operation with its responses and every schema', () => {
    const html = renderDocs({
      info: { title: 'alatau-pay API', description: 'Tenge invoices' },
      paths: {
        '/v1/invoices': {
          post: { summary: 'Create an invoice', responses: { '201': { description: 'Created' } } },
          get: { summary: 'List', responses: { '200': { description: 'A page' } } },
        },
      },
      components: { schemas: { CreateInvoice: { type: 'object' } } },
    });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<code>POST /v1/invoices</code>');
    expect(html).toContain('<code>GET /v1/invoices</code>');
    expect(html).toContain('<code>201</code> Created');
    expect(html).toContain('<summary>CreateInvoice</summary>');
    expect(html).toContain('Tenge invoices');
  });

  it('escapes everything it is given', () => {
    const html = renderDocs({
      info: { title: '<script>alert(1)</script>' },
      paths: { '/x/<b>': { get: { summary: '"quoted" & \'single\'', responses: {} } } },
      components: { schemas: { 'A<img src=x>': { example: '</pre><script>' } } },
    });
    expect(html).not.toMatch(/<script|<img|<b>/);
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain('&#34;quoted&#34; &#38; &#39;single&#39;');
  });
});
