/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test objects build with -nostdinc; libbpf's usdt.bpf.h includes <linux/errno.h> for
 * the three error numbers its helpers return (asm-generic/errno-base.h values).
 */
#ifndef __COREBPF_TESTDATA_LINUX_ERRNO_H
#define __COREBPF_TESTDATA_LINUX_ERRNO_H
#define ENOENT 2
#define ESRCH 3
#define EINVAL 22
#endif
