// Aliyun POP error answers: the body `{RequestId, HostId, Code, Message, Recommend}` and the HTTP status
// the real gateway pairs with each code (pop-core ignores the status and throws on `Code`).

/** An API error; thrown by action handlers, turned into the error body by the server. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message?: string,
    status?: number,
  ) {
    super(message ?? defaultMessage(code));
    this.status = status ?? statusFor(code);
  }
}

const MESSAGES: Record<string, string> = {
  Throttling: 'Request was denied due to request throttling.',
  'Throttling.User': 'Request was denied due to user flow control.',
  'Throttling.Api': 'Request was denied due to api flow control.',
  ServiceUnavailable: 'The request has failed due to a temporary failure of the server.',
  InternalError: 'The request processing has failed due to some unknown error.',
  UnknownError: 'The server encountered an internal error. Please try again later.',
  SystemBusy: 'System is busy, please try again later.',
  OperationBusy: 'The operation is busy, please try again later.',
  ServiceIsConfiguring: 'The specified service is configuring, please try again later.',
  'BackendServer.configuring':
    'A previous configuration of the load balancer is pending, please try again later.',
  ServiceIsStopping: 'The specified service is stopping, please try again later.',
  OperationConflict: 'The operation may conflicts with others.',
  IncorrectInstanceStatus: 'The current status of the resource does not support this operation.',
  'Forbidden.RAM':
    'User not authorized to operate on the specified resource, or this API does not support RAM.',
  'InvalidAccessKeyId.NotFound': 'Specified access key is not found.',
  'InvalidTimeStamp.Expired': 'Specified time stamp or date value is expired.',
  'InvalidTimeStamp.Format': 'Specified time stamp or date value is not well formatted.',
  SignatureNonceUsed: 'Specified signature nonce was used already.',
  'InvalidAction.NotFound': 'Specified api is not found, please check your url and method.',
};

export function defaultMessage(code: string): string {
  return MESSAGES[code] ?? `The request failed with error code ${code}.`;
}

/** HTTP status for an error code (as the real gateway answers it). */
export function statusFor(code: string): number {
  if (code === 'InternalError' || code === 'UnknownError') return 500;
  if (code === 'ServiceUnavailable' || code === 'SystemBusy') return 503;
  if (code.endsWith('.NotFound') || code === 'InvalidAction.NotFound') return 404;
  if (
    code === 'IncorrectInstanceStatus' ||
    code === 'OperationConflict' ||
    code.startsWith('DependencyViolation') ||
    code.startsWith('QuotaExceed') ||
    code.startsWith('Forbidden')
  ) {
    return 403;
  }
  return 400;
}

export const missing = (name: string): ApiError =>
  new ApiError(
    'MissingParameter',
    `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
  );

export const invalid = (name: string, why = 'is not valid'): ApiError =>
  new ApiError('InvalidParameter', `The specified parameter "${name}" ${why}.`);

export interface ErrorBody {
  RequestId: string;
  HostId: string;
  Code: string;
  Message: string;
  Recommend: string;
}

export function errorBody(err: ApiError, requestId: string, hostId: string, product: string): ErrorBody {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: err.code,
    Message: err.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=${product}`,
  };
}
