// The AFM's FM-1 message as XML (see ../shared/data/FM1.md; the official text governs): the envelope
// ExportData/SignedData/{Sender, Receiver, TieStamp, Data/Root, Signature} and TransportType, with
// Root/{Version, DocumentUniqueIdentifier, PersonalData, MessageInformation, Participants}.
// The gateway writes an unsigned draft (empty Signature) in UTF-16 with a BOM; the compliance officer
// checks and signs it in the AFM's software.
//
// The format forbids `&`, `<`, `>` and `'` in data values, so values are cleaned instead of escaped:
// an entity would itself put a `&` in the file.
import { formatKzt } from '../lib/money';
import { afmDate, afmDateTime } from './deadlines';

export type Fm1DocumentType = 1 | 2 | 3;
/** 1 completed, 2 refused, 3 awaiting a decision. */
export type Fm1OperationStatus = 1 | 2 | 3;
/** 1 legal entity, 2 individual, 3 sole proprietor. */
export type Fm1ParticipantType = 1 | 2 | 3;

export interface Fm1Officer {
  readonly surname: string;
  readonly givenName: string;
  readonly middleName?: string;
  readonly job?: string;
  readonly phone?: string;
  readonly email?: string;
}

export interface Fm1Reporter {
  /** Up to 32 of A–Z and 0–9. */
  readonly senderCode: string;
  readonly name: string;
  /** 12 digits. */
  readonly bin?: string | undefined;
  readonly organisationCode?: string | undefined;
  readonly officer?: Fm1Officer | undefined;
}

export interface Fm1Participant {
  readonly memberId: number;
  /** The participant's role code in the operation (from the AFM's directory). */
  readonly view: string;
  readonly type: Fm1ParticipantType;
  readonly isClientSubject: boolean;
  /** Two-letter country code, when known. */
  readonly residence?: string | undefined;
  /** A wallet address fits here. */
  readonly accountNumber?: string | undefined;
  /** IIN/BIN, 12 digits. */
  readonly iinBin?: string | undefined;
  readonly name?: string | undefined;
}

export interface Fm1Input {
  readonly reporter: Fm1Reporter;
  /** Upper-case GUIDs; generated when absent. */
  readonly version?: string;
  readonly documentId?: string;
  readonly documentType: Fm1DocumentType;
  readonly messageNumber: string;
  readonly createdAt: Date;
  readonly transactionAt: Date;
  /** Up to 30 characters. */
  readonly operationNumber: string;
  /** The AFM's currency directory code (398 for tenge). */
  readonly currencyCode: string;
  readonly amountCurrencyTiyn: bigint;
  readonly amountTengeTiyn: bigint;
  readonly operationStatus: Fm1OperationStatus;
  /** 1 threshold, 2 suspicious, 4.x list match, 9/10 typologies. */
  readonly reasonFilingId: string;
  readonly suspicion?: readonly string[];
  readonly descriptionDifficulties?: string;
  readonly moreInformation?: string;
  readonly participants: readonly Fm1Participant[];
}

const FORBIDDEN = /[&<>']/g;
const REPLACEMENT: Record<string, string> = { '&': ' and ', '<': ' ', '>': ' ', "'": '`' };

/** A data value the AFM accepts: no & < > ', no control characters, trimmed, at most `max` chars. */
export function fm1Value(value: string, max = 1000): string {
  const clean = value
    .replace(FORBIDDEN, (c) => REPLACEMENT[c] ?? ' ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return [...clean].slice(0, max).join('');
}

export function fm1Guid(): string {
  return crypto.randomUUID().toUpperCase();
}

const GUID_RE = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const SENDER_RE = /^[A-Z0-9]{1,32}$/;

/** A tenge amount with two decimals and a dot. */
export const fm1Amount = (tiyn: bigint): string => formatKzt(tiyn);

type Node = { tag: string; children: (Node | undefined)[] } | { tag: string; text: string };

const el = (tag: string, ...children: (Node | undefined)[]): Node => ({ tag, children });
const val = (tag: string, text: string | number | undefined, max?: number): Node | undefined =>
  text === undefined || text === '' ? undefined : { tag, text: fm1Value(String(text), max) };

function write(node: Node, depth: number, out: string[]): void {
  const indent = '  '.repeat(depth);
  if ('text' in node) {
    out.push(
      node.text === '' ? `${indent}<${node.tag}/>` : `${indent}<${node.tag}>${node.text}</${node.tag}>`,
    );
    return;
  }
  const kids = node.children.filter((c): c is Node => c !== undefined);
  if (kids.length === 0) {
    out.push(`${indent}<${node.tag}/>`);
    return;
  }
  out.push(`${indent}<${node.tag}>`);
  for (const k of kids) write(k, depth + 1, out);
  out.push(`${indent}</${node.tag}>`);
}

export class Fm1Error extends Error {
  override readonly name = 'Fm1Error';
  readonly code = 'fm1_invalid';
}

/** The FM-1 XML text (declared UTF-16; encode it with {@link encodeUtf16Bom}). */
export function buildFm1Xml(input: Fm1Input): string {
  const sender = input.reporter.senderCode.toUpperCase();
  if (!SENDER_RE.test(sender)) throw new Fm1Error('Sender must be 1 to 32 of A–Z and 0–9');
  const version = (input.version ?? fm1Guid()).toUpperCase();
  const documentId = (input.documentId ?? fm1Guid()).toUpperCase();
  if (!GUID_RE.test(version) || !GUID_RE.test(documentId)) throw new Fm1Error('Version and id must be GUIDs');
  if (input.reasonFilingId === '2' && !input.suspicion?.[0]) {
    throw new Fm1Error('SuspicionFirst is required when the reason is 2 (suspicious operation)');
  }
  const officer = input.reporter.officer;
  const [first, second, third] = input.suspicion ?? [];
  const root = el(
    'Root',
    val('Version', version),
    val('DocumentUniqueIdentifier', documentId),
    el(
      'PersonalData',
      val('OrganisationCode', input.reporter.organisationCode),
      val('OrganisationName', input.reporter.name, 500),
      val('IINBIN', input.reporter.bin),
      val('FirstName', officer?.surname, 100),
      val('SecondName', officer?.givenName, 100),
      val('MiddleName', officer?.middleName, 100),
      val('JobName', officer?.job, 200),
      val('Phone', officer?.phone, 50),
      val('Email', officer?.email, 100),
    ),
    el(
      'MessageInformation',
      val('DocumentType', input.documentType),
      val('MessageNumber', input.messageNumber, 50),
      val('LastModifyDate', afmDate(input.createdAt)),
      val('TransactionDate', afmDateTime(input.transactionAt)),
      val('OperationNumber', input.operationNumber, 30),
      val('CurrencyCodeId', input.currencyCode),
      val('AmountCurrency', fm1Amount(input.amountCurrencyTiyn)),
      val('AmountCurrencyTenge', fm1Amount(input.amountTengeTiyn)),
      val('OperationStatusId', input.operationStatus),
      val('ReasonFilingId', input.reasonFilingId),
      val('SuspicionFirst', first),
      val('SuspicionSecond', second),
      val('SuspicionThird', third),
      val('DescriptionDifficulties', input.descriptionDifficulties, 1000),
      val('MoreInformation', input.moreInformation, 1000),
      val('ParticipantCount', input.participants.length),
    ),
    el(
      'Participants',
      ...input.participants.map((p) =>
        el(
          'Participant',
          val('MemberId', p.memberId),
          val('ParticipantsView', p.view),
          val('ParticipantsType', p.type),
          val('IsClientSubject', p.isClientSubject ? 1 : 0),
          val('Residence', p.residence?.toUpperCase()),
          p.accountNumber ? el('CorrespondentBank', val('AccountNumber', p.accountNumber, 100)) : undefined,
          val('IndividualIssue', p.iinBin),
          p.name
            ? el(
                'AdditionalPersonInfo',
                p.type === 2 ? val('FullName', p.name, 500) : val('OrganisationName', p.name, 500),
              )
            : undefined,
        ),
      ),
    ),
  );
  const doc = el(
    'ExportData',
    el(
      'SignedData',
      val('Sender', sender),
      val('Receiver', 'AFM'),
      val('TieStamp', afmDateTime(input.createdAt)),
      el('Data', root),
      // Unsigned draft: the officer signs it (Tumar, W3C XML signature) in the AFM's software.
      el('Signature'),
    ),
    val('TransportType', '1'),
  );
  const out = ['<?xml version="1.0" encoding="UTF-16"?>'];
  write(doc, 0, out);
  return `${out.join('\r\n')}\r\n`;
}

/** UTF-16LE bytes with a byte-order mark, as the AFM's software reads them. */
export function encodeUtf16Bom(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out[0] = 0xff;
  out[1] = 0xfe;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out[2 + i * 2] = code & 0xff;
    out[3 + i * 2] = code >> 8;
  }
  return out;
}
