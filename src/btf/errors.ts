import { ObjectFormatError } from '../errors.js';

/**
 * A BTF blob is truncated or corrupt (bad magic, header, section bounds, type record,
 * string offset or type reference). `details.offset` is the byte offset in the blob
 * where the problem was found, when there is one; `details.typeId` the type concerned.
 */
export class BtfFormatError extends ObjectFormatError {
  get offset(): number | undefined {
    return typeof this.details.offset === 'number' ? this.details.offset : undefined;
  }
  get typeId(): number | undefined {
    return typeof this.details.typeId === 'number' ? this.details.typeId : undefined;
  }
}
