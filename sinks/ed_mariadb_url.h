/*
 * ed_mariadb_url.h — the `url` option of a mariadb sink:
 * "mysql://user[:password]@host[:port]/database" (or mariadb://), with
 * %XX escapes decoded in the user, password and database; the password may
 * hold '/' and '@' (the host starts after the last '@'); an IPv6 host is
 * written [::1]; URL options (?…) are refused.
 */
#ifndef ED_MARIADB_URL_H
#define ED_MARIADB_URL_H

/* Parses url into the parts it gives: each of *user, *password, *host,
 * *database that the URL names is replaced by an owned string (the old
 * one freed), *port_p by the port. Returns NULL, or a static sentence
 * saying what is wrong (never echoing the password). */
const char *ed_mariadb_url_parse(const char *url, char **user, char **password, char **host,
                                 int *port_p, char **database);

#endif
