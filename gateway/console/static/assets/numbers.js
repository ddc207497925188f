/* Mobile numbers as the gateway reads them (flows/normalize.py), for the phone and the admin forms. */

export const toAscii = (text) => text.replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x06f0)).replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x0660));

/** 98XXXXXXXXXX, or "" when `text` is not an Iranian mobile number (as the gateway reads them). */
export function parseMsisdn(text) {
  let digits = toAscii(text).replace(/[\s\-./()]/g, "");
  if (digits.startsWith("+")) digits = `00${digits.slice(1)}`;
  if (!/^[0-9]+$/.test(digits)) return "";
  for (const prefix of ["0098", "98", "0"]) {
    if (digits.startsWith(prefix) && digits.length === prefix.length + 10) {
      digits = digits.slice(prefix.length);
      break;
    }
  }
  return /^9[0-9]{9}$/.test(digits) ? `98${digits}` : "";
}
export const local = (msisdn) => (msisdn.startsWith("98") ? `0${msisdn.slice(2)}` : msisdn);
