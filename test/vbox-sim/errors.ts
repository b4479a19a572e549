/**
 * Errors as VBoxManage prints them: `VBoxManage: error: <message>`, then (for COM errors) a Details line
 * with the result code and a Context line, exit code 1. Syntax errors exit 2 (RTEXITCODE_SYNTAX).
 */

const CODES: Record<string, string> = {
  VBOX_E_OBJECT_NOT_FOUND: '0x80bb0001',
  VBOX_E_INVALID_VM_STATE: '0x80bb0002',
  VBOX_E_VM_ERROR: '0x80bb0003',
  VBOX_E_FILE_ERROR: '0x80bb0004',
  VBOX_E_IPRT_ERROR: '0x80bb0005',
  VBOX_E_INVALID_OBJECT_STATE: '0x80bb0007',
  VBOX_E_OBJECT_IN_USE: '0x80bb000c',
  VBOX_E_NOT_SUPPORTED: '0x80bb0009',
  E_INVALIDARG: '0x80070057',
  NS_ERROR_INVALID_ARG: '0x80070057',
  E_FAIL: '0x80004005',
  E_ACCESSDENIED: '0x80070005',
};

export class VBoxError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly component = 'MachineWrap',
    readonly iface = 'IMachine',
    readonly context = '',
    readonly exitCode = 1,
  ) {
    super(message);
  }

  /** The stderr text VBoxManage would print. */
  render(): string {
    const lines = [`VBoxManage: error: ${this.message}`];
    if (this.code) {
      lines.push(
        `VBoxManage: error: Details: code ${this.code} (${CODES[this.code] ?? '0x80004005'}), component ${this.component}, interface ${this.iface}, callee nsISupports`,
      );
    }
    if (this.context) lines.push(`VBoxManage: error: Context: ${this.context}`);
    return `${lines.join('\n')}\n`;
  }
}

/** A usage error: unknown option, missing argument (exit code 2, no Details line). */
export class VBoxSyntaxError extends VBoxError {
  constructor(message: string) {
    super(message, undefined, '', '', '', 2);
  }
}

/** An error with no COM code, only a message (e.g. `Machine 'x' is not currently running`). */
export const plain = (message: string) => new VBoxError(message);

export const notFound = (vm: string, file: string, line: number) =>
  new VBoxError(
    `Could not find a registered machine named '${vm}'`,
    'VBOX_E_OBJECT_NOT_FOUND',
    'VirtualBoxWrap',
    'IVirtualBox',
    `"FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())" at line ${line} of file ${file}`,
  );

export const locked = (vm: string, context: string) =>
  new VBoxError(
    `The machine '${vm}' is already locked by a session (or being locked or unlocked)`,
    'VBOX_E_INVALID_OBJECT_STATE',
    'MachineWrap',
    'IMachine',
    context,
  );

export const fileNotFound = (path: string) =>
  new VBoxError(
    `Could not find file for the medium '${path}' (VERR_FILE_NOT_FOUND)`,
    'VBOX_E_FILE_ERROR',
    'MediumWrap',
    'IMedium',
    `"OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())" at line 201 of file VBoxManageDisk.cpp`,
  );
