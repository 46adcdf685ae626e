"""Type stubs for the native module ``zoho_oauth._native`` (built from bindings-python/src).

The runtime docstrings come from the Rust ``///`` docs; these stubs carry the types.
"""

from types import TracebackType
from typing import Any, AsyncIterator, Awaitable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, Union, final

from ._headers import Headers
from ._store import KeyValueStore

# Optional dependencies, for the adapters' return types only (the adapters import them lazily).
import httpx
import requests.auth

__all__ = [
    "AsyncClient",
    "AuthorizationUrl",
    "Client",
    "DeviceAuthorization",
    "MockServer",
    "OAuthApp",
    "Paginator",
    "Response",
    "TokenSet",
    "__version__",
    "is_dead_token_response",
]

_Scalar = Union[str, int, float, bool, None]
_Pairs = Union[Mapping[str, Union[_Scalar, Sequence[_Scalar]]], Sequence[Tuple[str, Union[_Scalar, Sequence[_Scalar]]]]]

__version__: str

@final
class MockServer:
    """A running fake Zoho; use ``zoho_oauth.testing.MockZoho``."""

    def __new__(cls, dcs: List[str], port: int, settings_json: str) -> "MockServer": ...
    def base_url(self) -> str: ...
    def call(self, op: str, body_json: str) -> str: ...
    def stop(self) -> None: ...

def is_dead_token_response(status: int, body: bytes) -> bool: ...

@final
class TokenSet:
    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> Optional[str]: ...
    @property
    def api_domain(self) -> Optional[str]: ...
    @property
    def accounts_server(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_at(self) -> float: ...
    @property
    def expires_at_ms(self) -> int: ...
    @property
    def scopes(self) -> List[str]: ...
    @property
    def id_token(self) -> Optional[str]: ...

@final
class AuthorizationUrl:
    @property
    def url(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def code_verifier(self) -> Optional[str]: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> str: ...

@final
class DeviceAuthorization:
    @property
    def user_code(self) -> str: ...
    @property
    def verification_url(self) -> str: ...
    @property
    def verification_url_complete(self) -> Optional[str]: ...
    @property
    def expires_in(self) -> float: ...
    @property
    def interval(self) -> float: ...
    def wait(self) -> TokenSet: ...
    def wait_async(self) -> Awaitable[TokenSet]: ...

@final
class OAuthApp:
    def __new__(
        cls,
        client_id: str,
        client_secret: Optional[str] = None,
        dc: str = "us",
        *,
        accounts_url: Optional[str] = None,
        client_type: Optional[str] = None,
        dc_secrets: Optional[Mapping[str, str]] = None,
        dc_accounts_urls: Optional[Mapping[str, str]] = None,
        timeout: float = 30.0,
    ) -> "OAuthApp": ...
    @property
    def client_id(self) -> str: ...
    @property
    def dc(self) -> str: ...
    def authorization_url(
        self,
        scopes: Sequence[str],
        redirect_uri: str,
        *,
        access_type: str = "offline",
        prompt: Optional[str] = None,
        state: Optional[str] = None,
        pkce: Optional[bool] = None,
    ) -> AuthorizationUrl: ...
    def handle_callback(
        self,
        callback_url: str,
        *,
        expected_state: Optional[str] = None,
        redirect_uri: Optional[str] = None,
        code_verifier: Optional[str] = None,
        skip_state_check: bool = False,
    ) -> TokenSet: ...
    def exchange_code(
        self,
        code: str,
        *,
        redirect_uri: Optional[str] = None,
        code_verifier: Optional[str] = None,
        accounts_server: Optional[str] = None,
    ) -> TokenSet: ...
    def refresh(self, refresh_token: str, *, accounts_server: Optional[str] = None) -> TokenSet: ...
    def revoke(self, refresh_token: str, *, accounts_server: Optional[str] = None) -> None: ...
    def client_credentials(self, scopes: Sequence[str], *, soid: Optional[str] = None) -> TokenSet: ...
    def start_device_flow(
        self, scopes: Sequence[str], *, access_type: Optional[str] = None, prompt: Optional[str] = None
    ) -> DeviceAuthorization: ...
    def handle_callback_async(
        self,
        callback_url: str,
        *,
        expected_state: Optional[str] = None,
        redirect_uri: Optional[str] = None,
        code_verifier: Optional[str] = None,
        skip_state_check: bool = False,
    ) -> Awaitable[TokenSet]: ...
    def exchange_code_async(
        self,
        code: str,
        *,
        redirect_uri: Optional[str] = None,
        code_verifier: Optional[str] = None,
        accounts_server: Optional[str] = None,
    ) -> Awaitable[TokenSet]: ...
    def refresh_async(self, refresh_token: str, *, accounts_server: Optional[str] = None) -> Awaitable[TokenSet]: ...
    def revoke_async(self, refresh_token: str, *, accounts_server: Optional[str] = None) -> Awaitable[None]: ...
    def start_device_flow_async(
        self, scopes: Sequence[str], *, access_type: Optional[str] = None, prompt: Optional[str] = None
    ) -> Awaitable[DeviceAuthorization]: ...

@final
class Response:
    @property
    def status(self) -> int: ...
    @property
    def status_code(self) -> int: ...
    @property
    def ok(self) -> bool: ...
    @property
    def url(self) -> str: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def text(self) -> str: ...
    @property
    def content(self) -> bytes: ...
    @property
    def retry_after(self) -> Optional[float]: ...
    def json(self) -> Any: ...
    def header(self, name: str) -> Optional[str]: ...
    def raise_for_status(self) -> "Response": ...

@final
class Paginator:
    def __iter__(self) -> Iterator[Dict[str, Any]]: ...
    def __next__(self) -> Dict[str, Any]: ...
    def __aiter__(self) -> AsyncIterator[Dict[str, Any]]: ...
    def __anext__(self) -> Awaitable[Dict[str, Any]]: ...

@final
class Client:
    def __new__(
        cls,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        dc: str = "us",
        token_store: Union[str, KeyValueStore] = "memory://",
        accounts_url: Optional[str] = None,
        accounts_server: Optional[str] = None,
        api_domain: Optional[str] = None,
        client_type: Optional[str] = None,
        dc_secrets: Optional[Mapping[str, str]] = None,
        dc_accounts_urls: Optional[Mapping[str, str]] = None,
        refresh_margin: float = 300.0,
        refresh_budget: int = 10,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_concurrency: Optional[int] = None,
        max_response_bytes: Optional[int] = None,
        allow_hosts: Optional[Sequence[str]] = None,
        initial_token: Optional[TokenSet] = None,
    ) -> "Client": ...
    @staticmethod
    def from_env() -> "Client": ...
    @property
    def dc(self) -> str: ...
    @property
    def accounts_server(self) -> str: ...
    @property
    def store_key(self) -> str: ...
    def base_url(self, product: str = "crm") -> str: ...
    def access_token(self) -> str: ...
    def token_set(self) -> TokenSet: ...
    def force_refresh(self) -> TokenSet: ...
    def invalidate(self, access_token: str) -> bool: ...
    def check_url(self, url: str) -> None: ...
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_non_idempotent: bool = False,
    ) -> Response: ...
    def get(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Response: ...
    def post(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_non_idempotent: bool = False,
    ) -> Response: ...
    def put(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Response: ...
    def patch(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_non_idempotent: bool = False,
    ) -> Response: ...
    def delete(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Response: ...
    def paginate(self, path: str, *, params: Optional[_Pairs] = None, per_page: int = 200) -> Paginator: ...
    def revoke(self) -> None: ...
    def save_refresh_token(self, label: Optional[str] = None) -> None: ...
    def rate_limits(self) -> Dict[str, Optional[float]]: ...
    def requests_auth(self) -> requests.auth.AuthBase: ...
    def httpx_auth(self) -> httpx.Auth: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> "Client": ...
    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> bool: ...

@final
class AsyncClient:
    def __new__(
        cls,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        dc: str = "us",
        token_store: Union[str, KeyValueStore] = "memory://",
        accounts_url: Optional[str] = None,
        accounts_server: Optional[str] = None,
        api_domain: Optional[str] = None,
        client_type: Optional[str] = None,
        dc_secrets: Optional[Mapping[str, str]] = None,
        dc_accounts_urls: Optional[Mapping[str, str]] = None,
        refresh_margin: float = 300.0,
        refresh_budget: int = 10,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_concurrency: Optional[int] = None,
        max_response_bytes: Optional[int] = None,
        allow_hosts: Optional[Sequence[str]] = None,
        initial_token: Optional[TokenSet] = None,
    ) -> "AsyncClient": ...
    @staticmethod
    def from_env() -> "AsyncClient": ...
    @property
    def dc(self) -> str: ...
    @property
    def accounts_server(self) -> str: ...
    @property
    def store_key(self) -> str: ...
    def base_url(self, product: str = "crm") -> str: ...
    def access_token(self) -> Awaitable[str]: ...
    def token_set(self) -> Awaitable[TokenSet]: ...
    def force_refresh(self) -> Awaitable[TokenSet]: ...
    def invalidate(self, access_token: str) -> Awaitable[bool]: ...
    def check_url(self, url: str) -> None: ...
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_non_idempotent: bool = False,
    ) -> Awaitable[Response]: ...
    def get(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Awaitable[Response]: ...
    def post(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_non_idempotent: bool = False,
    ) -> Awaitable[Response]: ...
    def put(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Awaitable[Response]: ...
    def patch(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        json: Any = None,
        data: Union[_Pairs, str, bytes, None] = None,
        content: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        retry_non_idempotent: bool = False,
    ) -> Awaitable[Response]: ...
    def delete(
        self,
        url: str,
        *,
        params: Optional[_Pairs] = None,
        headers: Optional[Mapping[str, str]] = None,
        product: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Awaitable[Response]: ...
    def paginate(self, path: str, *, params: Optional[_Pairs] = None, per_page: int = 200) -> Paginator: ...
    def revoke(self) -> Awaitable[None]: ...
    def save_refresh_token(self, label: Optional[str] = None) -> Awaitable[None]: ...
    def rate_limits(self) -> Dict[str, Optional[float]]: ...
    def httpx_auth(self) -> httpx.Auth: ...
    def close(self) -> None: ...
    def aclose(self) -> Awaitable[None]: ...
    @property
    def closed(self) -> bool: ...
    def __aenter__(self) -> Awaitable["AsyncClient"]: ...
    def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> Awaitable[bool]: ...
