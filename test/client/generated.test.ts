// The committed generated client is exactly what scripts/gen-client.ts makes of the app's current
// OpenAPI document, so the package can never drift from the API it calls.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  currentDocument,
  GENERATED,
  generateClientSource,
  nameFromPath,
  type OpenApiDocument,
  ROOT,
} from '../../scripts/gen-client';

const methodsOf = (source: string) =>
  [...source.matchAll(/^ {2}([a-z]\w*)\(/gm)].map((m) => m[1]).filter((n) => n !== 'constructor');

describe('packages/client/src/generated.ts', () => {
  it('matches the current OpenAPI document (run `npm run client:gen` after changing the API)', async () => {
    const committed = readFileSync(path.join(ROOT, GENERATED), 'utf8');
    expect(committed).toBe(generateClientSource(await currentDocument()));
  });

  it('has one method per operation, named by its operationId', async () => {
    const doc = await currentDocument();
    const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item));
    const methods = methodsOf(generateClientSource(doc));
    expect(methods).toHaveLength(operations.length);
    expect(methods).toEqual(
      expect.arrayContaining([
        'createInvoice',
        'listInvoices',
        'getInvoice',
        'cancelInvoice',
        'createWebhookEndpoint',
        'listWebhookEndpoints',
        'deleteWebhookEndpoint',
        'rotateWebhookSecret',
        'listWebhookDeliveries',
        'redeliverWebhookDelivery',
        'getRates',
      ]),
    );
  });

  it('names a method by its operationId when the document has one', async () => {
    const doc = structuredClone(await currentDocument()) as OpenApiDocument;
    doc.paths['/v1/invoices']!.post!.operationId = 'invoices.create-one';
    const methods = methodsOf(generateClientSource(doc));
    expect(methods).toContain('invoicesCreateOne');
    expect(methods).not.toContain('createInvoice');
  });

  it('refuses a document where two operations would get one name', async () => {
    const doc = structuredClone(await currentDocument()) as OpenApiDocument;
    doc.paths['/v1/invoices']!.get!.operationId = 'createInvoice';
    expect(() => generateClientSource(doc)).toThrow(/two operations would be named createInvoice/);
  });

  it.each([
    ['post', '/v1/invoices', 'createInvoice'],
    ['get', '/v1/invoices/{id}', 'getInvoice'],
    ['post', '/v1/invoices/{id}/cancel', 'cancelInvoice'],
    ['post', '/v1/checkout/{id}/intents', 'createCheckoutIntent'],
    ['get', '/v1/regulator/reports/{id}/fm1.xml', 'getRegulatorReportFm1Xml'],
    ['put', '/v1/webhooks/{id}', 'updateWebhook'],
  ])('%s %s → %s', (method, route, name) => {
    expect(nameFromPath(method, route)).toBe(name);
  });
});

describe('documents the completeness work will produce', () => {
  it('takes path-item parameters and extra declared responses in its stride', async () => {
    const doc = structuredClone(await currentDocument()) as OpenApiDocument;
    const item = doc.paths['/v1/invoices/{id}']!;
    item.parameters = item.get!.parameters;
    delete item.get!.parameters;
    item.get!.responses!['429'] = { content: { 'application/problem+json': { schema: {} } } };
    const source = generateClientSource(doc);
    expect(source).toContain('getInvoice(id: string, options?: RequestOptions): Promise<Invoice>');
    expect(source).toContain("path: '/v1/invoices/{id}', pathParams: { id: id }");
  });
});
