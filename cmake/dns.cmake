# quail_link_dns(target): link a program that uses lib/dns_resolver.hpp with
# its libunbound implementation (lib/dns_resolver.cpp), and
# libunbound from Debian's static archive and what libunbound.a needs (nettle,
# hogweed and gmp for its DNSSEC code, libevent, OpenSSL's libcrypto), so its
# start maps no extra shared object (DESIGN.md, principle 6; figures in
# man/remote-deliver.8, START COST). Under the sanitizers, or without the
# archives, the shared libraries are used. Programs that add OpenSSL's libssl
# pass it as extra arguments so it comes before libcrypto.
add_library(quail-dns-unbound STATIC ${CMAKE_SOURCE_DIR}/lib/dns_resolver.cpp ${CMAKE_SOURCE_DIR}/lib/dns_resolver_common.cpp)
target_link_libraries(quail-dns-unbound PUBLIC quail)
add_library(quail-dns-stub STATIC ${CMAKE_SOURCE_DIR}/lib/dns_resolver_stub.cpp ${CMAKE_SOURCE_DIR}/lib/dns_resolver_common.cpp)
target_link_libraries(quail-dns-stub PUBLIC quail)

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
    target_link_libraries(${target} quail-dns-unbound quail ${QUAIL_UNBOUND_A} ${QUAIL_SSL_A} ${QUAIL_HOGWEED_A} ${QUAIL_NETTLE_A}
                          ${QUAIL_GMP_A} ${QUAIL_EVENT_A} ${QUAIL_CRYPTO_A} pthread)
  else()
    target_link_libraries(${target} quail-dns-unbound quail unbound ssl crypto)
  endif()
endfunction()

# quail_link_stub_dns(target): the same interface through c-ares, a stub resolver
# whose channel is cheap to create (lib/dns_resolver.hpp): for the programs that
# start per session or per message. Its static archive when installed (not under
# the sanitizers), so the start maps no extra shared object.
# With CRYPTO, OpenSSL's libcrypto too (DKIM's RSA), from its archive likewise.
function(quail_link_stub_dns target)
  find_library(QUAIL_CARES_A NAMES libcares.a)
  find_library(QUAIL_CRYPTO_A NAMES libcrypto.a)
  set(crypto "")
  if("CRYPTO" IN_LIST ARGN)
    set(crypto crypto)
  endif()
  if(QUAIL_CARES_A AND NOT QUAIL_SANITIZE)
    if(crypto AND QUAIL_CRYPTO_A)
      set(crypto ${QUAIL_CRYPTO_A} pthread)
    endif()
    target_link_libraries(${target} quail-dns-stub quail ${QUAIL_CARES_A} ${crypto})
  else()
    target_link_libraries(${target} quail-dns-stub quail cares ${crypto})
  endif()
endfunction()
