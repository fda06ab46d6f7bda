import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import { PermanentFailure, RetryLaterError } from '../../domain/errors';
import { RETRY_DELAY_SECONDS } from '../../runtime/retry-policy';

export interface OutgoingMail {
  /** Exactly one address: one email per recipient, so a bad address fails only its own delivery. */
  to: string[];
  subject: string;
  html: string;
  text: string;
  /** The From display name, e.g. "Acme Security" (the address is the deployment's sender). */
  senderName?: string;
  /** Where replies go. */
  replyTo?: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}

/**
 * The operator has to fix something in SES or IAM (sender identity, configuration set,
 * permissions, paused account). A plain Error for the caller: retried, then dead-lettered
 * with this message as the reason.
 */
export class SesConfigurationError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SesConfigurationError';
  }
}

/** SES v1 `SendEmail`, the API the design names; errors mapped by what the caller should do. */
export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESClient,
    private readonly sender: string,
  ) {}

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    if (mail.to.length !== 1) throw new Error(`SesMailer sends one recipient per email, got ${mail.to.length}`);
    const utf8 = (data: string) => ({ Data: data, Charset: 'UTF-8' });
    try {
      const out = await this.client.send(
        new SendEmailCommand({
          Source: mail.senderName ? withDisplayName(mail.senderName, this.sender) : this.sender,
          Destination: { ToAddresses: [...mail.to] },
          ...(mail.replyTo ? { ReplyToAddresses: [mail.replyTo] } : {}),
          Message: { Subject: utf8(mail.subject), Body: { Html: utf8(mail.html), Text: utf8(mail.text) } },
        }),
      );
      return { messageId: out.MessageId ?? '' };
    } catch (error) {
      throw mapSesError(error, this.sender);
    }
  }
}

/**
 * `"Name" <address>`: SES takes RFC 5322 addresses, with a non-ASCII name as an RFC 2047
 * encoded word. The name is operator-set (validated one line, no `<>"`), quoted all the same.
 */
export function withDisplayName(name: string, address: string): string {
  const bare = (/<([^>]+)>/.exec(address)?.[1] ?? address).trim();
  const display = /^[\x20-\x7e]*$/.test(name) ? `"${name.replace(/[\\"]/g, '\\$&')}"` : `=?utf-8?B?${Buffer.from(name, 'utf8').toString('base64')}?=`;
  return `${display} <${bare}>`;
}

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);

/** Each needs a fix by the operator; the text says which. */
const CONFIGURATION_FIXES: Record<string, string> = {
  MailFromDomainNotVerified: 'verify the custom MAIL FROM domain of the sender identity in SES (its MX and SPF records)',
  MailFromDomainNotVerifiedException: 'verify the custom MAIL FROM domain of the sender identity in SES (its MX and SPF records)',
  FromEmailAddressNotVerified: 'verify the sender address or its domain in SES',
  FromEmailAddressNotVerifiedException: 'verify the sender address or its domain in SES',
  ConfigurationSetDoesNotExist: 'create the SES configuration set or remove it as the default of the sender identity',
  ConfigurationSetDoesNotExistException: 'create the SES configuration set or remove it as the default of the sender identity',
  ConfigurationSetSendingPausedException: 'resume sending for the SES configuration set',
  AccountSendingPausedException: 'sending is paused for this SES account; resolve the reason in the SES console and resume it',
  AccessDenied: 'grant the function ses:SendEmail on the sender identity',
  AccessDeniedException: 'grant the function ses:SendEmail on the sender identity',
  InvalidClientTokenId: 'check the AWS credentials the function runs with',
  UnrecognizedClientException: 'check the AWS credentials the function runs with',
  SignatureDoesNotMatch: 'check the AWS credentials the function runs with',
};

interface SesErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * - throttling → RetryLaterError (short delay; a spent daily quota waits longer);
 * - an address SES will not take → PermanentFailure (recorded, never retried);
 * - sender identity / configuration / permission problems → SesConfigurationError naming the sender;
 * - anything else (5xx, network, timeout) → a plain Error, retried.
 */
export function mapSesError(error: unknown, sender: string): Error {
  const e = (error ?? {}) as SesErrorShape;
  const name = e.name ?? 'Error';
  const message = e.message ?? String(error);

  if (/daily message quota exceeded/i.test(message)) {
    return new RetryLaterError(RETRY_DELAY_SECONDS.sesDailyQuota, `SES daily sending quota exceeded: ${message}`, error);
  }
  if (THROTTLING.has(name) || /maximum sending rate exceeded/i.test(message)) {
    return new RetryLaterError(RETRY_DELAY_SECONDS.sesThrottled, `SES throttled sending: ${message}`, error);
  }
  const fix = CONFIGURATION_FIXES[name];
  if (fix) return new SesConfigurationError(`SES refused to send as ${sender} (${name}: ${message}); fix: ${fix}`, name);

  if (name === 'MessageRejected') {
    // "Email address is not verified. The following identities failed the check …": about the
    // sender it is an operator error; about a recipient only (SES sandbox) it concerns that address.
    if (mentionsAddress(message, sender)) {
      return new SesConfigurationError(
        `SES rejected the sender ${sender} (${message}); fix: verify the sender address or its domain in SES for this region`,
        'SenderNotVerified',
      );
    }
    const code = /not verified/i.test(message) ? 'ses_recipient_not_verified' : 'ses_message_rejected';
    return new PermanentFailure(code, `SES rejected the message: ${message}`);
  }
  if (name === 'InvalidParameterValue' && /address|domain|@/i.test(message)) {
    return new PermanentFailure('ses_invalid_address', `SES rejected the address: ${message}`);
  }
  const status = e.$metadata?.httpStatusCode;
  return new Error(`SES SendEmail failed (${name}${status ? `, HTTP ${status}` : ''}): ${message}`, { cause: error });
}

function mentionsAddress(message: string, sender: string): boolean {
  const address = (/<([^>]+)>/.exec(sender)?.[1] ?? sender).trim().toLowerCase();
  return address !== '' && message.toLowerCase().includes(address);
}
