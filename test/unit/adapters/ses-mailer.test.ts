import {
  MailFromDomainNotVerifiedException,
  MessageRejected,
  SendEmailCommand,
  SESClient,
  SESServiceException,
  ConfigurationSetDoesNotExistException,
} from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SesConfigurationError, SesMailer, mapSesError, withDisplayName } from '../../../functions/adapters/ses/mailer';
import { PermanentFailure, RetryLaterError } from '../../../functions/domain/errors';

const SENDER = 'Slack security <alerts@example.com>';
const mail = { to: ['ana@example.com'], subject: 'Sessions ended — Ana Silva ✓', html: '<p>Hi</p>', text: 'Hi' };

const ses = mockClient(SESClient);
const mailer = () => new SesMailer(new SESClient({ region: 'eu-west-1' }), SENDER);

const serviceError = (name: string, message: string, status = 400) =>
  new SESServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });

beforeEach(() => ses.reset());

describe('SesMailer', () => {
  it('sends one SendEmail from the sender to one address, HTML and text, all UTF-8', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-message-1' });
    await expect(mailer().send(mail)).resolves.toEqual({ messageId: 'ses-message-1' });
    expect(ses).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(ses).toHaveReceivedCommandWith(SendEmailCommand, {
      Source: SENDER,
      Destination: { ToAddresses: ['ana@example.com'] },
      Message: {
        Subject: { Data: 'Sessions ended — Ana Silva ✓', Charset: 'UTF-8' },
        Body: { Html: { Data: '<p>Hi</p>', Charset: 'UTF-8' }, Text: { Data: 'Hi', Charset: 'UTF-8' } },
      },
    });
    expect(ses.commandCalls(SendEmailCommand)[0].args[0].input).not.toHaveProperty('ConfigurationSetName');
  });

  it('sends from the configured display name and with the reply-to address', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-message-2' });
    await mailer().send({ ...mail, senderName: 'Acme Security', replyTo: 'security@acme.example' });
    expect(ses).toHaveReceivedCommandWith(SendEmailCommand, { Source: '"Acme Security" <alerts@example.com>', ReplyToAddresses: ['security@acme.example'] });
    expect(ses.commandCalls(SendEmailCommand)[0].args[0].input).not.toHaveProperty('ConfigurationSetName');
  });

  it('quotes a display name, and encodes a non-ASCII one as RFC 2047', () => {
    expect(withDisplayName('Acme "Sec" \\ Team', 'alerts@example.com')).toBe('"Acme \\"Sec\\" \\\\ Team" <alerts@example.com>');
    expect(withDisplayName('Sécurité Acme', 'Old <alerts@example.com>')).toBe(`=?utf-8?B?${Buffer.from('Sécurité Acme').toString('base64')}?= <alerts@example.com>`);
  });

  it('refuses more than one recipient per email', async () => {
    await expect(mailer().send({ ...mail, to: ['a@example.com', 'b@example.com'] })).rejects.toThrow('one recipient per email');
    expect(ses).toHaveReceivedCommandTimes(SendEmailCommand, 0);
  });

  it('maps throttling to RetryLaterError with a short delay', async () => {
    ses.on(SendEmailCommand).rejects(serviceError('Throttling', 'Maximum sending rate exceeded.'));
    const error = await mailer().send(mail).catch((e) => e);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(error.delaySeconds).toBeLessThanOrEqual(10);
  });

  it('maps MessageRejected about the recipient to a PermanentFailure', async () => {
    ses.on(SendEmailCommand).rejects(new MessageRejected({ message: 'Email address is not verified. The following identities failed the check in region EU-WEST-1: ana@example.com', $metadata: {} }));
    const error = await mailer().send(mail).catch((e) => e);
    expect(error).toBeInstanceOf(PermanentFailure);
    expect(error.code).toBe('ses_recipient_not_verified');
  });

  it('maps MessageRejected about the sender to a configuration error naming the sender', async () => {
    ses.on(SendEmailCommand).rejects(new MessageRejected({ message: 'Email address is not verified. The following identities failed the check in region EU-WEST-1: alerts@example.com', $metadata: {} }));
    const error = await mailer().send(mail).catch((e) => e);
    expect(error).toBeInstanceOf(SesConfigurationError);
    expect(error).not.toBeInstanceOf(PermanentFailure);
    expect(error.message).toContain(SENDER);
    expect(error.message).toMatch(/verify the sender/);
  });

  it('maps MailFromDomainNotVerifiedException to a retried error that says what to fix', async () => {
    ses.on(SendEmailCommand).rejects(new MailFromDomainNotVerifiedException({ message: 'Mail-From domain not verified', $metadata: {} }));
    const error = await mailer().send(mail).catch((e) => e);
    expect(error).toBeInstanceOf(SesConfigurationError);
    expect(error).not.toBeInstanceOf(RetryLaterError);
    expect(error.message).toContain(SENDER);
    expect(error.message).toMatch(/MAIL FROM domain/);
  });

  it('maps a missing configuration set to a configuration error', async () => {
    ses.on(SendEmailCommand).rejects(new ConfigurationSetDoesNotExistException({ message: 'Configuration set <alerts> does not exist.', $metadata: {} }));
    await expect(mailer().send(mail)).rejects.toThrow(/create the SES configuration set/);
  });

  it('leaves 5xx and network failures as plain, retried errors', async () => {
    ses.on(SendEmailCommand).rejects(serviceError('InternalFailure', 'We encountered an internal error.', 500));
    const error = await mailer().send(mail).catch((e) => e);
    expect(error.constructor).toBe(Error);
    expect(error.message).toContain('HTTP 500');
  });
});

describe('mapSesError', () => {
  it.each([
    ['ThrottlingException', 'Rate exceeded', RetryLaterError],
    ['TooManyRequestsException', 'Too many requests', RetryLaterError],
    ['Throttling', 'Daily message quota exceeded.', RetryLaterError],
    ['AccessDenied', 'User is not authorized to perform ses:SendEmail', SesConfigurationError],
    ['AccountSendingPausedException', 'Sending paused', SesConfigurationError],
    ['InvalidParameterValue', 'Missing final \'@domain\'', PermanentFailure],
    ['MessageRejected', 'Illegal address', PermanentFailure],
  ])('%s (%s)', (name, message, expected) => {
    expect(mapSesError(serviceError(name, message), SENDER)).toBeInstanceOf(expected);
  });

  it('waits longer when the daily quota is spent than when the rate is exceeded', () => {
    const quota = mapSesError(serviceError('Throttling', 'Daily message quota exceeded.'), SENDER) as RetryLaterError;
    const rate = mapSesError(serviceError('Throttling', 'Maximum sending rate exceeded.'), SENDER) as RetryLaterError;
    expect(quota.delaySeconds).toBeGreaterThan(rate.delaySeconds);
  });

  it('maps a network error to a plain Error', () => {
    const error = mapSesError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { name: 'Error' }), SENDER);
    expect(error.constructor).toBe(Error);
    expect(error.message).toContain('ECONNREFUSED');
  });
});
