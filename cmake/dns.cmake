# quail_link_dns(target): link a program that uses lib/dns_resolver with
# libunbound from Debian's static archive and what libunbound.a needs (nettle,
# hogweed and gmp for its DNSSEC code, libevent, OpenSSL's libcrypto), so its
# start maps no extra shared object (DESIGN.md, principle 6; figures in
# man/remote-deliver.8, START COST). Under the sanitizers, or without the
# archives, the shared libraries are used. Programs that add OpenSSL's libssl
# pass it as extra arguments so it comes before libcrypto.
function(quail_link_dns target)
  find_library(QUAIL_UNBOUND_A NAMES libunbound.a)
  find_library(QUAIL_SSL_A NAMES libssl.a)
  find_library(QUAIL_CRYPTO_A NAMES libcrypto.a)
  find_library(QUAIL_HOGWEED_A NAMES libhogweed.a)
  find_library(QUAIL_NETTLE_A NAMES libnettle.a)
  find_library(QUAIL_GMP_A NAMES libgmp.a)
  find_library(QUAIL_EVENT_A NAMES libevent.a)
  if(QUAIL_UNBOUND_A AND QUAIL_SSL_A AND QUAIL_CRYPTO_A AND QUAIL_HOGWEED_A AND QUAIL_NETTLE_A AND QUAIL_GMP_A
     AND QUAIL_EVENT_A AND NOT QUAIL_SANITIZE)
    target_link_libraries(${target} quail ${QUAIL_UNBOUND_A} ${QUAIL_SSL_A} ${QUAIL_HOGWEED_A} ${QUAIL_NETTLE_A}
                          ${QUAIL_GMP_A} ${QUAIL_EVENT_A} ${QUAIL_CRYPTO_A} pthread)
  else()
    target_link_libraries(${target} quail unbound ssl crypto)
  endif()
endfunction()
